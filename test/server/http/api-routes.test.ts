/**
 * The HTTP API, the live event stream and the dashboard's files, through a real HttpServer on
 * 127.0.0.1 port 0 and real fetch, over an in-memory backend that records what it was asked. What a
 * client would check: status, the field named in an error, headers, events in order, nothing served
 * that is not on the list, and the server still answering after every kind of bad request.
 * The live stream's bounds (coalescing, slow clients) are checked on vitest's fake clock at the end.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http"
import { connect } from "node:net"
import { Writable } from "node:stream"
import { afterEach, describe, expect, test, vi } from "vitest"
import type { ApiError, DevicePageResponse, LiveEvent } from "../../../server/http/api-types"
import { HttpServer, HttpStartError } from "../../../server/http/http-server"
import { LiveStream } from "../../../server/http/live-stream"
import { MemoryBackend } from "../../helpers/api-backend"
import { EventReader } from "../../helpers/event-reader"
import { recordingLogger, until, within } from "../../helpers/mqtt"

const HOST = "127.0.0.1"
const NOW = 1_700_000_000_000

const running: HttpServer[] = []
afterEach(async () => {
    vi.useRealTimers()
    await Promise.all(running.splice(0).map(server => server.stop()))
})

/** A started server over a backend with two devices, one group and a simulated device. */
async function serve(setup: (backend: MemoryBackend) => void = () => undefined) {
    const backend = new MemoryBackend()
    backend.addDevice("dev-a", { light: 120, lightAt: NOW - 1000, lastSeen: NOW - 1000 })
    backend.addDevice("nightlight-sim", { simulated: true })
    backend.addGroup("hall", ["dev-a", "nightlight-sim"], { kind: "majority", staleAfterMs: 30_000, minVoters: 1 })
    setup(backend)
    const { logger, lines } = recordingLogger("info")
    const server = new HttpServer({ backend, host: HOST, port: 0, logger, clock: () => NOW })
    await server.start()
    running.push(server)
    return { server, backend, lines, url: (path: string) => `${server.url}${path}` }
}

async function json(response: Response): Promise<unknown> {
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8")
    return response.json()
}

function send(url: string, method: string, body: unknown, type = "application/json"): Promise<Response> {
    return fetch(url, { method, headers: { "Content-Type": type }, body: JSON.stringify(body) })
}

/** Expects an error answer with this status, naming `field` (or naming none). */
async function expectProblem(response: Response, status: number, field: string | undefined, message?: RegExp) {
    const body = (await json(response)) as ApiError
    expect({ status: response.status, field: body.field }).toEqual({ status, field })
    expect(typeof body.error).toBe("string")
    if (message) expect(body.error).toMatch(message)
    return body
}

/** A request with a raw path (fetch would normalise "/../"), for traversal attempts and odd bodies. */
function raw(
    url: string,
    path: string,
    options: { method?: string; headers?: Record<string, string>; chunks?: string[] } = {}
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
    const { port } = new URL(url)
    return within(
        5000,
        `${options.method ?? "GET"} ${path}`,
        new Promise((resolve, reject) => {
            const req = httpRequest({ host: HOST, port, path, method: options.method, headers: options.headers })
            req.on("response", res => {
                let body = ""
                res.setEncoding("utf8")
                res.on("data", chunk => (body += chunk))
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
            })
            req.on("error", reject)
            for (const chunk of options.chunks ?? []) req.write(chunk)
            req.end()
        })
    )
}

describe("JSON routes", () => {
    test("devices, one device, groups and settings come back as the backend has them", async () => {
        const { url, backend } = await serve()
        const devices = await fetch(url("/api/devices"))
        expect(devices.status).toBe(200)
        expect(devices.headers.get("cache-control")).toBe("no-store")
        expect(devices.headers.get("x-content-type-options")).toBe("nosniff")
        expect(await json(devices)).toEqual({ devices: [...backend.deviceMap.values()] })
        expect(await json(await fetch(url("/api/devices/dev-a")))).toMatchObject({ id: "dev-a", light: 120 })
        expect(await json(await fetch(url("/api/groups")))).toEqual({ groups: [...backend.groupMap.values()] })
        expect(await json(await fetch(url("/api/settings")))).toEqual({ threshold: 300, band: 100 })
    })

    test("a device id is percent-decoded, checked, and an unknown one is a 404 naming it", async () => {
        const { url, backend } = await serve(b => b.addDevice("room:1"))
        expect(await json(await fetch(url("/api/devices/room%3A1")))).toMatchObject({ id: "room:1" })
        await expectProblem(await fetch(url("/api/devices/nobody")), 404, "id", /nobody/)
        await expectProblem(await fetch(url("/api/devices/bad%20id")), 400, "id")
        await expectProblem(await fetch(url("/api/devices/a%2Fb")), 400, "id")
        await expectProblem(await fetch(url("/api/devices/%E0%A4%A")), 400, "id", /percent-encoding/)
        await expectProblem(await fetch(url(`/api/devices/${"x".repeat(65)}`)), 400, "id")
        expect(backend.calls.filter(c => c.method === "device").map(c => c.args[0])).toEqual(["room:1", "nobody"])
    })

    test("history: defaults to the last hour, passes from/to/points through, 404 for an unknown device", async () => {
        const { url, backend } = await serve()
        backend.addReading("dev-a", NOW - 5000, 200, true)
        const history = await json(await fetch(url("/api/devices/dev-a/history")))
        expect(history).toMatchObject({ device: "dev-a", from: NOW - 3_600_000, to: NOW, bucketMs: 0 })
        expect(history).toMatchObject({ readings: [{ t: NOW - 5000, light: 200, led: true }] })
        await fetch(url(`/api/devices/dev-a/history?from=${NOW - 600_000}&to=${NOW}&points=600`))
        await fetch(url(`/api/devices/dev-a/history?from=${NOW - 60_000}`))
        await fetch(url(`/api/devices/dev-a/history?to=${NOW - 60_000}`))
        const asked = backend.calls.filter(c => c.method === "history").map(c => c.args)
        expect(asked).toEqual([
            ["dev-a", NOW - 3_600_000, NOW, 1000],
            ["dev-a", NOW - 600_000, NOW, 600],
            ["dev-a", NOW - 60_000, NOW, 1000],
            ["dev-a", NOW - 60_000 - 3_600_000, NOW - 60_000, 1000],
        ])
        await expectProblem(await fetch(url("/api/devices/ghost/history")), 404, "id")
    })

    test("history: every bad query parameter is a 400 naming it", async () => {
        const { url, backend } = await serve()
        const history = (query: string) => fetch(url(`/api/devices/dev-a/history?${query}`))
        await expectProblem(await history("from=abc"), 400, "from", /from must be an integer/)
        await expectProblem(await history("from=-5"), 400, "from")
        await expectProblem(await history("to=1e12"), 400, "to")
        await expectProblem(await history("to=1.5"), 400, "to")
        await expectProblem(await history(`from=${NOW}&to=${NOW - 1}`), 400, "from", /must not be after to/)
        await expectProblem(await history("points=9"), 400, "points", /10 to 10000/)
        await expectProblem(await history("points=10001"), 400, "points")
        await expectProblem(await history("points="), 400, "points")
        await expectProblem(await history("point=100"), 400, "point", /unknown query parameter/)
        await expectProblem(await history("from=1&from=2"), 400, "from", /twice/)
        expect(backend.calls.some(c => c.method === "history")).toBe(false)
    })

    test("routes without query parameters reject any, naming it", async () => {
        const { url } = await serve()
        await expectProblem(await fetch(url("/api/devices/dev-a?limit=5")), 400, "limit")
        await expectProblem(await fetch(url("/api/settings?x")), 400, "x")
        await expectProblem(await fetch(url("/api/summary?state=online")), 400, "state")
    })

    test("/api/devices with a query: the page asked for, defaults filled in, the total for a pager", async () => {
        const { url, backend } = await serve(b => {
            for (let i = 0; i < 250; i++) b.addDevice(`bulk-${String(i).padStart(3, "0")}`)
        })
        const first = (await json(await fetch(url("/api/devices?offset=0")))) as DevicePageResponse
        expect({ total: first.total, offset: first.offset, limit: first.limit }).toEqual({
            total: 252,
            offset: 0,
            limit: 100,
        })
        expect(first.devices.map(d => d.id).slice(0, 2)).toEqual(["bulk-000", "bulk-001"])
        const last = (await json(await fetch(url("/api/devices?offset=250&limit=1000")))) as DevicePageResponse
        expect(last.devices.map(d => d.id)).toEqual(["dev-a", "nightlight-sim"])
        const found = (await json(await fetch(url("/api/devices?q=BULK-24&sort=id&order=desc")))) as DevicePageResponse
        const forties = Array.from({ length: 10 }, (_, i) => `bulk-24${i}`)
        expect(found.devices.map(d => d.id)).toEqual(forties.reverse())
        expect(found.total).toBe(10)
        expect(backend.calls.filter(c => c.method === "devices")).toEqual([])
    })

    test("/api/devices: every bad paging, sort or filter parameter is a 400 naming it", async () => {
        const { url, backend } = await serve()
        const page = (query: string) => fetch(url(`/api/devices?${query}`))
        await expectProblem(await page("limit=0"), 400, "limit", /limit must be an integer from 1 to 1000/)
        await expectProblem(await page("limit=1001"), 400, "limit")
        await expectProblem(await page("offset=-1"), 400, "offset")
        await expectProblem(await page("offset=1.5"), 400, "offset")
        await expectProblem(await page("sort=name"), 400, "sort", /id, light, lastSeen, state/)
        await expectProblem(await page("order=up"), 400, "order")
        await expectProblem(await page("state=asleep"), 400, "state", /online, offline, no_status/)
        await expectProblem(await page(`q=${"x".repeat(65)}`), 400, "q")
        await expectProblem(await page("page=2"), 400, "page", /unknown query parameter/)
        await expectProblem(await page("limit=5&limit=6"), 400, "limit", /twice/)
        expect(backend.calls.some(c => c.method === "devicePage")).toBe(false)
    })

    test("PATCH /api/settings applies a partial patch; every bad field is a 400 naming it", async () => {
        const { url, backend } = await serve()
        const patch = (body: unknown) => send(url("/api/settings"), "PATCH", body)
        expect(await json(await patch({ threshold: 250 }))).toEqual({ threshold: 250, band: 100 })
        expect(await json(await patch({ band: 0 }))).toEqual({ threshold: 250, band: 0 })
        expect(await json(await patch({}))).toEqual({ threshold: 250, band: 0 })
        await expectProblem(
            await patch({ threshold: 0 }),
            400,
            "threshold",
            /threshold must be an integer from 1 to 1023/
        )
        await expectProblem(await patch({ threshold: 1024 }), 400, "threshold")
        await expectProblem(await patch({ threshold: 300.5 }), 400, "threshold")
        await expectProblem(await patch({ threshold: "300" }), 400, "threshold")
        await expectProblem(await patch({ threshold: null }), 400, "threshold")
        await expectProblem(await patch({ band: -1 }), 400, "band", /band must be an integer from 0 to 1023/)
        await expectProblem(await patch({ band: 5, colour: "red" }), 400, "colour", /unknown field "colour"/)
        await expectProblem(await patch([1, 2]), 400, undefined, /JSON object/)
        await expectProblem(await patch("300"), 400, undefined, /JSON object/)
        // 1e999 is valid JSON for Infinity
        const infinite = await fetch(url("/api/settings"), {
            method: "PATCH",
            headers: { "Content-Type": "application/json" },
            body: '{"threshold": 1e999}',
        })
        await expectProblem(infinite, 400, "threshold")
        expect(backend.calls.filter(c => c.method === "updateSettings").map(c => c.args[0])).toEqual([
            { threshold: 250 },
            { band: 0 },
            {},
        ])
    })

    test("PATCH /api/device-config takes the firmware's ranges only; the rule stays /api/settings'", async () => {
        const { url, backend } = await serve()
        const patch = (body: unknown) => send(url("/api/device-config"), "PATCH", body)
        expect(await json(await fetch(url("/api/device-config")))).toMatchObject({ version: 1, reportMs: 2000 })
        expect(await json(await patch({ reportMs: 1000, localAfterMs: 5000 }))).toMatchObject({
            version: 2,
            reportMs: 1000,
            minChange: 20,
            localAfterMs: 5000,
        })
        await expectProblem(
            await patch({ reportMs: 99 }),
            400,
            "reportMs",
            /reportMs must be an integer from 100 to 3600000/
        )
        await expectProblem(await patch({ minChange: 0 }), 400, "minChange", /from 1 to 1023/)
        await expectProblem(await patch({ localAfterMs: 3600001 }), 400, "localAfterMs")
        await expectProblem(await patch({ localAfterMs: 1500.5 }), 400, "localAfterMs")
        await expectProblem(await patch({ threshold: 250 }), 400, "threshold", /unknown field "threshold"/)
        expect(backend.calls.filter(c => c.method === "updateDeviceConfig").map(c => c.args[0])).toEqual([
            { reportMs: 1000, localAfterMs: 5000 },
        ])
    })

    test("a device's and a group's own config: set, null clears, DELETE clears all; ranges, ids and 404s", async () => {
        const { url, backend } = await serve()
        const device = (id: string, method = "GET", body?: unknown) =>
            body === undefined
                ? fetch(url(`/api/device-config/devices/${id}`), { method })
                : send(url(`/api/device-config/devices/${id}`), method, body)
        expect(await json(await device("dev-a", "PATCH", { threshold: 600, band: 50 }))).toMatchObject({
            config: { threshold: 600, band: 50, reportMs: 2000 },
            sources: { threshold: "device", band: "device", reportMs: "fleet" },
            override: { threshold: 600, band: 50 },
        })
        expect(await json(await device("dev-a", "PATCH", { band: null }))).toMatchObject({
            override: { threshold: 600 },
        })
        expect(await json(await device("dev-a", "DELETE"))).toMatchObject({ override: {} })
        await expectProblem(await device("dev-a", "PATCH", { threshold: 0 }), 400, "threshold", /from 1 to 1023/)
        await expectProblem(await device("dev-a", "PATCH", { band: "wide" }), 400, "band")
        await expectProblem(await device("dev-a", "PATCH", { reportMs: 99 }), 400, "reportMs")
        await expectProblem(await device("dev-a", "PATCH", { colour: 1 }), 400, "colour", /unknown field/)
        await expectProblem(await device("nobody", "PATCH", { threshold: 5 }), 404, "id")
        await expectProblem(await device("nobody"), 404, "id")
        await expectProblem(await device("a%2Fb"), 400, "id")

        const group = (name: string, method = "GET", body?: unknown) =>
            body === undefined
                ? fetch(url(`/api/device-config/groups/${name}`), { method })
                : send(url(`/api/device-config/groups/${name}`), method, body)
        expect(await json(await group("hall", "PATCH", { localAfterMs: 2000 }))).toEqual({
            name: "hall",
            members: ["dev-a", "nightlight-sim"],
            override: { localAfterMs: 2000 },
        })
        expect(await json(await group("hall", "DELETE"))).toMatchObject({ override: {} })
        await expectProblem(await group("hall", "PATCH", { localAfterMs: 999 }), 400, "localAfterMs")
        await expectProblem(await group("nowhere", "PATCH", { band: 5 }), 404, "name")
        const changes = backend.calls.filter(c => c.method.startsWith("override")).map(c => [c.method, ...c.args])
        expect(changes).toEqual([
            ["overrideDeviceConfig", "dev-a", { threshold: 600, band: 50 }],
            ["overrideDeviceConfig", "dev-a", { band: null }],
            ["overrideDeviceConfig", "dev-a", null],
            ["overrideDeviceConfig", "nobody", { threshold: 5 }],
            ["overrideGroupConfig", "hall", { localAfterMs: 2000 }],
            ["overrideGroupConfig", "hall", null],
            ["overrideGroupConfig", "nowhere", { band: 5 }],
        ])
    })

    test("PATCH /api/groups/:name: the rule changes; unknown group 404; the backend's whole-rule check is passed on", async () => {
        const { url, backend } = await serve()
        const patch = (name: string, body: unknown) => send(url(`/api/groups/${name}`), "PATCH", body)
        expect(await json(await patch("hall", { kind: "at-least", dark: 2 }))).toMatchObject({
            name: "hall",
            rule: { kind: "at-least", dark: 2, staleAfterMs: 30_000, minVoters: 1 },
        })
        await expectProblem(await patch("cellar", { minVoters: 2 }), 404, "name", /cellar/)
        await expectProblem(await patch("hall", { dark: 3 }), 400, "dark", /exceed the 2 members/)
        await expectProblem(await patch("hall", { kind: "most" }), 400, "kind", /"majority" or "at-least"/)
        await expectProblem(await patch("hall", { dark: 0 }), 400, "dark")
        await expectProblem(await patch("hall", { staleAfterMs: 10 }), 400, "staleAfterMs", /1000 to 86400000/)
        await expectProblem(await patch("hall", { minVoters: 1.5 }), 400, "minVoters")
        await expectProblem(await patch("hall", { members: [] }), 400, "members", /unknown field/)
        await expectProblem(await patch("%01", {}), 400, "name", /1-64 letters, digits or _ \. -/)
        // not printable ASCII (here a right-to-left override) cannot be a group's name either
        await expectProblem(await patch("hall%E2%80%AE", {}), 400, "name", /1-64 letters/)
        expect(backend.calls.filter(c => c.method === "updateGroupRule").map(c => c.args)).toEqual([
            ["hall", { kind: "at-least", dark: 2 }],
            ["cellar", { minVoters: 2 }],
            ["hall", { dark: 3 }],
        ])
    })

    test("PUT /api/sim/light holds the simulated light or resumes its cycle; 404 without one; light is checked", async () => {
        const { url, backend } = await serve()
        const put = (body: unknown) => send(url("/api/sim/light"), "PUT", body)
        expect(await json(await put({ light: 800 }))).toEqual({ deviceId: "nightlight-sim", light: 800 })
        await expectProblem(await put({ light: 1024 }), 400, "light", /light must be an integer from 0 to 1023/)
        await expectProblem(await put({}), 400, "light")
        await expectProblem(await put({ light: 5, device: "x" }), 400, "device")
        // back to the day/night cycle
        expect(await json(await put({ light: "daylight" }))).toEqual({ deviceId: "nightlight-sim", light: "daylight" })
        await expectProblem(await put({ light: "dusk" }), 400, "light", /or "daylight" for the day\/night cycle/)
        backend.deviceMap.delete("nightlight-sim")
        await expectProblem(await put({ light: 5 }), 404, undefined, /no simulated device/)
        expect(backend.calls.filter(c => c.method === "setSimLight").map(c => c.args[0])).toEqual([800, "daylight", 5])
    })

    test("bodies: JSON Content-Type required (415), invalid JSON 400, over 16 KB 413, and the server goes on", async () => {
        const { url, backend } = await serve()
        await expectProblem(await send(url("/api/settings"), "PATCH", { band: 5 }, "text/plain"), 415, undefined)
        const latin1 = await send(url("/api/settings"), "PATCH", { band: 5 }, "application/json; charset=latin1")
        await expectProblem(latin1, 415, undefined)
        const utf8 = await send(url("/api/settings"), "PATCH", { band: 5 }, "application/json; charset=UTF-8")
        expect(utf8.status).toBe(200)
        await expectProblem(await fetch(url("/api/settings"), { method: "PATCH" }), 415, undefined, /none/)
        const broken = await fetch(url("/api/settings"), {
            method: "PATCH",
            headers: { "Content-Type": "application/json" },
            body: '{"band": ',
        })
        await expectProblem(broken, 400, undefined, /not valid JSON/)
        const empty = await fetch(url("/api/settings"), {
            method: "PATCH",
            headers: { "Content-Type": "application/json" },
        })
        await expectProblem(empty, 400, undefined, /not valid JSON/)
        const big = await send(url("/api/settings"), "PATCH", { band: 5, pad: "x".repeat(17 * 1024) })
        await expectProblem(big, 413, undefined, /16384 bytes/)
        // no Content-Length: counted while reading
        const chunked = await raw(url(""), "/api/settings", {
            method: "PATCH",
            headers: { "Content-Type": "application/json", "Transfer-Encoding": "chunked" },
            chunks: ['{"pad": "', ...Array.from({ length: 20 }, () => "y".repeat(1024)), '"}'],
        })
        expect(chunked.status).toBe(413)
        // far too large: not read at all; the client may see the answer or a reset, the server carries on
        await fetch(url("/api/settings"), {
            method: "PATCH",
            headers: { "Content-Type": "application/json" },
            body: "x".repeat(2 * 1024 * 1024),
        }).catch(() => undefined)
        expect(backend.calls.filter(c => c.method === "updateSettings").map(c => c.args[0])).toEqual([{ band: 5 }])
        expect((await fetch(url("/api/settings"))).status).toBe(200)
    })

    test("unknown route 404, wrong method 405 with Allow, HEAD works for GET routes", async () => {
        const { url } = await serve()
        await expectProblem(await fetch(url("/api/nothing")), 404, undefined)
        await expectProblem(await fetch(url("/api/devices/")), 404, undefined)
        const del = await fetch(url("/api/settings"), { method: "DELETE" })
        await expectProblem(del, 405, undefined, /DELETE is not allowed/)
        expect(del.headers.get("allow")).toBe("GET, HEAD, PATCH")
        const post = await fetch(url("/api/sim/light"), { method: "POST" })
        expect(post.status).toBe(405)
        expect(post.headers.get("allow")).toBe("PUT")
        const head = await fetch(url("/api/devices"), { method: "HEAD" })
        expect(head.status).toBe(200)
        expect(await head.text()).toBe("")
    })

    test("any method Node parses is a 405 with Allow on a known path; '*' and absolute targets are 404s", async () => {
        const { url } = await serve()
        for (const method of ["TRACE", "PROPFIND", "OPTIONS", "POST"]) {
            const answer = await raw(url(""), "/api/settings", { method })
            expect({ method, status: answer.status, allow: answer.headers.allow }).toEqual({
                method,
                status: 405,
                allow: "GET, HEAD, PATCH",
            })
            expect(JSON.parse(answer.body)).toEqual({ error: `${method} is not allowed here; use GET, HEAD, PATCH` })
        }
        expect((await raw(url(""), "*", { method: "OPTIONS" })).status).toBe(404)
        expect((await raw(url(""), "http://elsewhere/api/settings")).status).toBe(404)
    })

    test("a request Node cannot parse gets Node's bare 400 and the connection closes", async () => {
        const { url } = await serve()
        const socket = connect(Number(new URL(url("")).port), HOST)
        let answer = ""
        socket.on("data", chunk => (answer += chunk))
        const closed = new Promise(resolve => socket.on("close", resolve))
        socket.write("HELLO\r\n\r\n")
        await within(5000, "the server closes the connection", closed)
        expect(answer).toBe("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
    })

    test("a refused request without a body keeps its keep-alive connection for the next one", async () => {
        const { url } = await serve()
        const socket = connect(Number(new URL(url("")).port), HOST)
        let answer = ""
        socket.on("data", chunk => (answer += chunk))
        const closed = new Promise(resolve => socket.on("close", resolve))
        for (const path of ["/api/devices/%E0%A4%A", "*", "/api/settings"])
            socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
        await until("the third answer", () => answer.includes('"threshold"'))
        expect(answer.match(/HTTP\/1\.1 \d+/g)).toEqual(["HTTP/1.1 400", "HTTP/1.1 404", "HTTP/1.1 200"])
        socket.end()
        await within(5000, "the client closes", closed)
    })

    test("a backend failure is a logged 500 with a generic message; the server keeps serving", async () => {
        const { url, backend, lines } = await serve()
        backend.failing = { method: "devices", error: new Error("database is locked") }
        const failed = await expectProblem(await fetch(url("/api/devices")), 500, undefined)
        expect(failed.error).not.toContain("database")
        expect(lines.join("")).toContain("database is locked")
        backend.failing = { method: "updateSettings", error: new TypeError("boom") }
        await expectProblem(await send(url("/api/settings"), "PATCH", { band: 1 }), 500, undefined)
        backend.failing = undefined
        expect((await fetch(url("/api/devices"))).status).toBe(200)
        expect((await send(url("/api/settings"), "PATCH", { band: 1 })).status).toBe(200)
    })
})

describe("live events", () => {
    test("hello with the whole state first, then the backend's events in order; unsubscribed on close", async () => {
        const { url, backend } = await serve()
        const reader = await EventReader.open(url("/api/events"))
        expect(reader.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
        expect(reader.response.headers.get("cache-control")).toBe("no-cache")
        const hello = await reader.next()
        expect(hello).toEqual({
            type: "hello",
            devices: [...backend.deviceMap.values()],
            groups: [...backend.groupMap.values()],
            settings: { threshold: 300, band: 100 },
        })
        expect(backend.subscribers).toBe(1)
        backend.addReading("dev-a", NOW, 90, null)
        backend.addCommand("dev-a", NOW + 1, true, "dark")
        expect(await reader.next()).toEqual({ type: "reading", deviceId: "dev-a", t: NOW, light: 90, led: null })
        expect(await reader.next()).toMatchObject({ type: "device", device: { id: "dev-a", light: 90 } })
        expect(await reader.next()).toEqual({
            type: "command",
            deviceId: "dev-a",
            t: NOW + 1,
            ledOn: true,
            reason: "dark",
        })
        // the PATCH reaches the stream too
        await send(url("/api/settings"), "PATCH", { threshold: 280 })
        expect(await reader.next()).toEqual({ type: "settings", settings: { threshold: 280, band: 100 } })
        reader.close()
        await until("the stream to unsubscribe", () => backend.subscribers === 0)
    })

    test("a burst of readings is coalesced per device to the newest; other devices keep theirs", async () => {
        const { url, backend } = await serve()
        const reader = await EventReader.open(url("/api/events"))
        await reader.next() // hello
        for (let i = 1; i <= 5000; i++)
            backend.emit({ type: "reading", deviceId: "dev-a", t: NOW + i, light: i % 1024, led: null })
        backend.emit({ type: "reading", deviceId: "dev-a", t: NOW, light: 1, led: null }) // stale: must not win
        backend.emit({ type: "reading", deviceId: "dev-b", t: NOW + 7, light: 7, led: null })
        expect(await reader.next()).toMatchObject({ deviceId: "dev-a", t: NOW + 5000 })
        expect(await reader.next()).toMatchObject({ deviceId: "dev-b", t: NOW + 7 })
        backend.emit({ type: "reading", deviceId: "dev-a", t: NOW + 6000, light: 6, led: null })
        expect(await reader.next()).toMatchObject({ deviceId: "dev-a", t: NOW + 6000 })
        reader.close()
    })

    test("a backend that fails to give the state answers 500, and the stream works once it recovers", async () => {
        const { url, backend } = await serve()
        backend.failing = { method: "groups", error: new Error("not ready") }
        await expectProblem(await fetch(url("/api/events")), 500, undefined)
        expect(backend.subscribers).toBe(0)
        backend.failing = undefined
        const reader = await EventReader.open(url("/api/events"))
        expect((await reader.next()).type).toBe("hello")
        reader.close()
    })

    test("stop() ends open streams and idle keep-alive connections at once, and unsubscribes", async () => {
        const { url, backend, server } = await serve()
        expect((await fetch(url("/api/devices"))).status).toBe(200) // leaves an idle keep-alive socket
        const readers = [await EventReader.open(url("/api/events")), await EventReader.open(url("/api/events"))]
        for (const reader of readers) await reader.next()
        expect(backend.subscribers).toBe(2)
        const started = performance.now()
        await within(3000, "stop()", server.stop())
        expect(performance.now() - started).toBeLessThan(800) // well under the 1 s grace for busy sockets
        await within(2000, "the streams to end", Promise.all(readers.map(reader => reader.ended)))
        expect(backend.subscribers).toBe(0)
        await expect(fetch(url("/api/devices"))).rejects.toThrow()
    })
})

describe("dashboard files", () => {
    test("the page, its bundle, its CSS and uPlot, with their types, no-cache and the security headers", async () => {
        const { url } = await serve()
        const expected: [string, string, RegExp][] = [
            ["/", "text/html; charset=utf-8", /src="\/app.js"[\s\S]*data-testid="live-badge"/],
            ["/app.js", "text/javascript; charset=utf-8", /new EventSource\(/],
            ["/style.css", "text/css; charset=utf-8", /\.device-list/],
            ["/favicon.svg", "image/svg+xml", /<svg/],
            ["/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8", /uPlot/],
            ["/vendor/uPlot.min.css", "text/css; charset=utf-8", /\.uplot/],
        ]
        for (const [path, type, content] of expected) {
            const response = await fetch(url(path))
            expect({ path, status: response.status, type: response.headers.get("content-type") }).toEqual({
                path,
                status: 200,
                type,
            })
            expect(response.headers.get("cache-control")).toBe("no-cache")
            expect(response.headers.get("x-content-type-options")).toBe("nosniff")
            expect(response.headers.get("content-security-policy")).toMatch(/^default-src 'self'/)
            expect(await response.text()).toMatch(content)
        }
    })

    test("the bundle is the page's code with its modules inlined (no imports left), built once", async () => {
        const { url } = await serve()
        const first = await fetch(url("/app.js"))
        const code = await first.text()
        for (const piece of ["/api/events", "/api/sim/light", "reconnecting", "device-card", "uPlot did not load"])
            expect(code).toContain(piece)
        expect(code).not.toMatch(/^\s*import\s/m)
        const again = await fetch(url("/app.js"), { headers: { "If-None-Match": first.headers.get("etag")! } })
        expect(again.status).toBe(304)
    })

    test("only the listed files: traversal and other paths are 404", async () => {
        const { url } = await serve()
        for (const path of [
            "/../package.json",
            "/%2e%2e/package.json",
            "/vendor/../../package.json",
            "/vendor/%2e%2e%2f%2e%2e%2fpackage.json",
            "/vendor/uPlot.esm.js",
            "/web/app.ts",
            "/app.ts",
            "/index.html/",
            "//etc/passwd",
            "/server/api-types.ts",
            "/node_modules/uplot/package.json",
        ]) {
            const answer = await raw(url(""), path)
            expect({ path, status: answer.status }).toEqual({ path, status: 404 })
            expect(answer.body).not.toContain('"name"')
        }
    })
})

describe("lifecycle", () => {
    test("a port in use is a clear error naming host:port and --http-port", async () => {
        const { server } = await serve()
        const port = Number(new URL(server.url).port)
        const second = new HttpServer({
            backend: new MemoryBackend(),
            host: HOST,
            port,
            logger: recordingLogger("silent").logger,
        })
        const error = await second.start().catch(e => e)
        expect(error).toBeInstanceOf(HttpStartError)
        expect(error.message).toContain(`${HOST}:${port}`)
        expect(error.message).toContain("--http-port")
    })
})

describe("a live stream's bounds (fake clock)", () => {
    /**
     * A socket stand-in: takes writes until stalled, then holds them until released. Like a socket, a
     * write larger than its high-water mark returns false, and "drain" follows on the next tick.
     */
    function target(highWaterMark = 64) {
        const written: string[] = []
        const held: (() => void)[] = []
        let stalled = false
        const stream = new Writable({
            highWaterMark,
            write(chunk: Buffer, _encoding, callback) {
                written.push(chunk.toString())
                if (stalled) held.push(() => callback())
                else callback()
            },
        })
        return {
            stream,
            written,
            stall: () => (stalled = true),
            release: () => {
                stalled = false
                for (const callback of held.splice(0)) callback()
            },
            events: () =>
                written.flatMap(text => [...text.matchAll(/^data: (.*)$/gm)].map(m => JSON.parse(m[1]) as LiveEvent)),
        }
    }
    const hello: LiveEvent & { type: "hello" } = {
        type: "hello",
        devices: [],
        groups: [],
        settings: { threshold: 300, band: 100 },
    }
    const nextTick = () => new Promise<void>(resolve => process.nextTick(resolve)) // not faked
    const reading = (deviceId: string, t: number): LiveEvent => ({
        type: "reading",
        deviceId,
        t,
        light: t % 1000,
        led: null,
    })

    test("writes at most every 200 ms: the first event at once, the rest of a burst together", () => {
        vi.useFakeTimers({ now: NOW })
        const t = target(1 << 20)
        const live = new LiveStream(t.stream)
        live.start(hello)
        live.push(reading("a", 1))
        vi.advanceTimersByTime(0)
        expect(t.events().map(e => e.type)).toEqual(["hello", "reading"])
        for (let i = 2; i <= 100; i++) {
            live.push(reading("a", i))
            vi.advanceTimersByTime(1)
        }
        live.push(reading("b", 1))
        expect(live.waiting).toBe(2)
        vi.advanceTimersByTime(100)
        expect(t.written.length).toBe(2)
        vi.advanceTimersByTime(1) // 200 ms after the first write
        expect(t.written.length).toBe(3)
        expect(t.events().slice(2)).toEqual([reading("a", 100), reading("b", 1)])
        live.close()
    })

    test("a big fleet is paced: a write of N events waits N / 2000 s before the next", () => {
        vi.useFakeTimers({ now: NOW })
        const t = target(1 << 24)
        const live = new LiveStream(t.stream)
        live.start(hello)
        for (let i = 0; i < 4000; i++) live.push(reading(`dev-${i}`, i))
        vi.advanceTimersByTime(0)
        expect(t.events().length).toBe(4001)
        live.push(reading("dev-0", 9999))
        vi.advanceTimersByTime(1999)
        expect(t.events().length).toBe(4001)
        vi.advanceTimersByTime(1)
        expect(t.events().at(-1)).toEqual(reading("dev-0", 9999))
        live.close()
    })

    test("a client that stops reading holds at most one entry per device and kind, and catches up on drain", async () => {
        vi.useFakeTimers({ now: NOW })
        const t = target()
        const live = new LiveStream(t.stream)
        live.start(hello)
        await nextTick() // drained
        t.stall()
        live.push(reading("a", 1))
        vi.advanceTimersByTime(0) // this write fills the buffer
        for (let i = 2; i <= 20_000; i++) {
            live.push(reading(`dev-${i % 50}`, i))
            live.push({ type: "command", deviceId: `dev-${i % 50}`, t: i, ledOn: i % 2 === 0, reason: "dark" })
        }
        vi.advanceTimersByTime(10_000)
        expect(live.waiting).toBe(100)
        const writesWhileStalled = t.written.length
        vi.advanceTimersByTime(10_000)
        expect(t.written.length).toBe(writesWhileStalled) // no heartbeat piles up either
        t.release()
        vi.advanceTimersByTime(200)
        const latest = t.events().filter(e => e.type === "reading" && e.deviceId === "dev-0")
        expect(latest).toEqual([reading("dev-0", 20_000)])
        expect(live.waiting).toBe(0)
        live.close()
    })

    test("a client that has not drained for 30 s is dropped; heartbeats every 15 s otherwise", async () => {
        vi.useFakeTimers({ now: NOW })
        const t = target()
        const drops: string[] = []
        const live = new LiveStream(t.stream, undefined, why => drops.push(why))
        live.start(hello)
        await nextTick() // drained
        vi.advanceTimersByTime(15_000)
        expect(t.written.at(-1)).toBe(": heartbeat\n\n")
        t.stall()
        live.push(reading("a", 1))
        vi.advanceTimersByTime(0)
        vi.advanceTimersByTime(29_999)
        expect(drops).toEqual([])
        vi.advanceTimersByTime(1)
        expect(drops).toEqual(["stalled"])
        expect(t.stream.destroyed).toBe(true)
        live.push(reading("a", 2)) // after the end: ignored, nothing scheduled
        expect(live.waiting).toBe(0)
        expect(vi.getTimerCount()).toBe(0)
    })
})
