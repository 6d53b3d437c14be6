/**
 * Attacks on the devices' configuration (`<id>/config`, README "Wire protocol"; the API's
 * /api/device-config routes) by clients of our own against the assembled server, logins on: forged and
 * stray configs on the broker, odd device ids and group names, bodies of every wrong shape, and a
 * thousand PATCHes at once. The happy paths are in test/whole-server/device-config.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { saveCredentials, type Role } from "../../server/auth/credentials"
import { hashPassword } from "../../server/auth/password-hash"
import type { DeviceConfigDeviceView, DeviceView } from "../../server/http/api-types"
import { MAX_DEVICE_ID_LENGTH, type DeviceConfigPayload } from "../../server/protocol/contract"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const LONG_ID = `a:b.c-${"x".repeat(MAX_DEVICE_ID_LENGTH - 6)}`
const USERS: Record<string, Role> = { porch: "device", hall: "device", [LONG_ID]: "device", admin: "admin" }
const password = (name: string) => `${name}-password-1`

let dir: string
let server: RunningServer
const clients: MqttClient[] = []
const { logger } = recordingLogger("silent")

const settings = (): ServerSettings => ({
    broker: { kind: "embedded", host: HOST, port: 0 },
    threshold: 300,
    band: 100,
    dataDir: dir,
    http: { enabled: true, host: HOST, port: 0 },
})

async function login(name: string): Promise<MqttClient> {
    const client = await connectClient(server.brokerUrl, { username: name, password: password(name) })
    clients.push(client)
    return client
}

async function knownDevice(name: string): Promise<MqttClient> {
    const device = await login(name)
    device.publish(`${name}/telemetry`, JSON.stringify({ light: 500 }))
    await until(`a reading of ${name}`, () => server.controller.device(name)?.lastLight !== undefined)
    return device
}

/** What the broker keeps on `topic` now, read by a fresh admin client (undefined: nothing retained). */
async function retained(topic: string): Promise<unknown> {
    const admin = await login("admin")
    const inbox = await Inbox.open(admin, topic)
    try {
        return (await inbox.nextJson(300)).json
    } catch {
        return undefined
    } finally {
        await closeClient(admin)
    }
}

/** One request on a connection of its own from `from` (127.x.y.z): the API's rate limit is per address. */
function call(method: string, path: string, body?: string, from = HOST): Promise<{ status: number; json: unknown }> {
    const { port } = new URL(server.http!.url)
    return new Promise((resolve, reject) => {
        const headers = body === undefined ? {} : { "content-type": "application/json" }
        const req = request({ host: HOST, port, path, method, headers, localAddress: from, agent: false }, res => {
            let text = ""
            res.setEncoding("utf8")
            res.on("data", (chunk: string) => (text += chunk))
            res.on("end", () =>
                resolve({ status: res.statusCode!, json: text ? (JSON.parse(text) as unknown) : undefined })
            )
            res.on("error", reject)
        })
        req.on("error", reject)
        req.end(body)
    })
}

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-hostile-config-"))
    const users = new Map()
    for (const [name, role] of Object.entries(USERS))
        users.set(name, { role, hash: await hashPassword(password(name), { N: 1024, r: 8, p: 1 }) })
    await saveCredentials(join(dir, "users.json"), users)
    server = await startServer(settings(), logger)
})

afterAll(async () => {
    for (const client of clients) await closeClient(client)
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
})

describe("configs forged on the broker", () => {
    test("a device subscribing to # is refused: it never sees another device's config", async () => {
        await knownDevice("hall")
        const porch = await login("porch")
        await expect(porch.subscribeAsync("#")).rejects.toThrow(/Subscribe error/)
        await expect(porch.subscribeAsync("hall/#")).rejects.toThrow(/Subscribe error/)
    })

    test("a device running a version the server never sent it (forged, far ahead) is config_old, not current", async () => {
        const porch = await knownDevice("porch")
        const sent = server.controller.deviceConfigOf("porch")!.config
        // an admin (or anyone on loopback without logins) may publish there; the device would take it
        const forged = { ...sent, version: Number.MAX_SAFE_INTEGER, threshold: 1023 }
        const admin = await login("admin")
        await admin.publishAsync("porch/config", JSON.stringify(forged), { qos: 1, retain: true })
        porch.publish("porch/telemetry", JSON.stringify({ light: 500, cfg: forged.version }))
        await until("porch's version", () => server.controller.configVersion("porch") === forged.version)
        const { devices } = (await call("GET", "/api/devices?state=config_old")).json as { devices: DeviceView[] }
        expect(devices.map(d => d.id)).toEqual(["porch"])
    })

    test("a config left retained for a device never met is replaced by the server's when it first appears", async () => {
        const admin = await login("admin")
        const stray = { ...server.controller.deviceConfig(), version: 1, threshold: 1 }
        await admin.publishAsync(`${LONG_ID}/config`, JSON.stringify(stray), { qos: 1, retain: true })
        const device = await login(LONG_ID)
        const inbox = await Inbox.open(device, `${LONG_ID}/config`)
        expect((await inbox.nextJson()).json).toEqual(stray)
        device.publish(`${LONG_ID}/telemetry`, JSON.stringify({ light: 500 }))
        const own = server.controller.deviceConfig()
        expect((await inbox.nextJson()).json).toEqual(own)
        expect(await retained(`${LONG_ID}/config`)).toEqual(own)
    })
})

describe("what a device says about its config", () => {
    test("cfg and cfgErr of every wrong shape: refused or kept within bounds, and the server goes on", async () => {
        const porch = await knownDevice("porch")
        const junk: object[] = [
            { cfg: -1 },
            { cfg: 0 },
            { cfg: 1.5 },
            { cfg: "7" },
            { cfg: 2 ** 60 },
            { cfg: null },
            { cfgErr: "" },
            { cfgErr: "x".repeat(10_000) },
            { cfgErr: 42 },
        ]
        for (const extra of junk)
            await porch.publishAsync("porch/telemetry", JSON.stringify({ light: 500, ...extra }), { qos: 1 })
        porch.publish("porch/telemetry", JSON.stringify({ light: 501, cfg: 7, cfgErr: "7: \u0000\u001b[31mred" }))
        await until("the last reading", () => server.controller.device("porch")?.lastLight === 501)
        const view = ((await call("GET", "/api/devices/porch")).json as DeviceView)!
        expect(view.configVersion).toBe(7)
        expect(view.configError!.length).toBeLessThanOrEqual(200)
    })
})

describe("device ids at the edges", () => {
    test("the longest id, with ':' and '.', gets its config and reads it; a longer or non-ASCII one gets none", async () => {
        const device = await knownDevice(LONG_ID)
        const inbox = await Inbox.open(device, `${LONG_ID}/config`)
        expect((await inbox.nextJson()).json).toEqual(server.controller.deviceConfigOf(LONG_ID)!.config)
        const admin = await login("admin")
        for (const id of [`${LONG_ID}y`, "pörch", "porch\u202e"]) {
            await admin.publishAsync(`${id}/telemetry`, '{"light": 500}', { qos: 1 })
            expect(await retained(`${id}/config`), id).toBeUndefined()
            expect(server.controller.deviceConfigOf(id), id).toBeUndefined()
        }
    })

    test("ids with '/' or '%2F' or only dots in the API are a 400 or 404, never another device's config", async () => {
        await knownDevice("porch")
        for (const path of ["porch%2Fconfig", "porch%2fx", "..%2Fporch", "%2E%2E", "p%C3%B6rch", "%00", "porch%20"]) {
            const { status } = await call("PATCH", `/api/device-config/devices/${path}`, '{"threshold": 5}')
            expect([400, 404], path).toContain(status)
        }
        const { status } = await call("PATCH", "/api/device-config/devices/porch/config", '{"threshold": 5}')
        expect(status).toBe(404)
        expect(server.controller.deviceConfigOf("porch")!.override).toEqual({})
    })
})

describe("PATCH bodies of every wrong shape", () => {
    const bad = [
        '{"threshold": "500"}',
        '{"threshold": 500.5}',
        '{"threshold": 0}',
        '{"threshold": 1024}',
        '{"threshold": 1e400}',
        '{"band": -1}',
        '{"reportMs": 99}',
        '{"reportMs": 3600001}',
        '{"localAfterMs": 999}',
        '{"minChange": true}',
        '{"threshold": [500]}',
        '{"threshold": {"value": 500}}',
        '{"version": 9007199254740991}',
        '{"colour": "red"}',
        '{"__proto__": {"threshold": 5}}',
        '{"constructor": {"threshold": 5}}',
        "[]",
        "null",
        "500",
        '"threshold"',
        "{",
    ]

    test("a device's or group's own values: each is a 400 and changes nothing", async () => {
        await knownDevice("porch")
        const version = server.controller.deviceConfigOf("porch")!.config.version
        for (const path of ["/api/device-config/devices/porch", "/api/device-config/groups/none"])
            for (const body of bad) {
                const { status } = await call("PATCH", path, body)
                // an unknown group may be a 404 first; never a 200 or a 500
                expect([400, 404], `${path} ${body}`).toContain(status)
            }
        expect(server.controller.deviceConfigOf("porch")).toMatchObject({ override: {}, config: { version } })
        expect(({} as Record<string, unknown>).threshold).toBeUndefined()
    })

    test("the fleet's: each is a 400, null and the rule's fields included, and the version stays", async () => {
        const before = server.controller.deviceConfig()
        for (const body of [...bad, '{"reportMs": null}', '{"threshold": 500}', '{"band": 10}']) {
            const { status } = await call("PATCH", "/api/device-config", body)
            expect(status, body).toBe(400)
        }
        expect(server.controller.deviceConfig()).toEqual(before)
    })

    test("a body over 16 KB is a 413; an empty object or a DELETE of nothing is no new version", async () => {
        await knownDevice("porch")
        const huge = JSON.stringify({ threshold: 500, pad: "x".repeat(20_000) })
        expect((await call("PATCH", "/api/device-config/devices/porch", huge)).status).toBe(413)
        const version = server.controller.stats().configVersion
        const sent = server.controller.deviceConfigOf("porch")!.config.version
        expect((await call("PATCH", "/api/device-config/devices/porch", "{}")).status).toBe(200)
        expect((await call("DELETE", "/api/device-config/devices/porch")).status).toBe(200)
        expect((await call("PATCH", "/api/device-config", "{}")).status).toBe(200)
        expect(server.controller.stats().configVersion).toBe(version)
        expect(server.controller.deviceConfigOf("porch")!.config.version).toBe(sent)
        expect((await call("DELETE", "/api/device-config/devices/never-seen")).status).toBe(404)
        expect((await call("DELETE", "/api/device-config/groups/none")).status).toBe(404)
    })

    test("group names that are odd: a 400 or a 404, never a 500", async () => {
        for (const name of ["%2F", "a%2Fb", "..", "%2E", "x".repeat(2000), "%F0%9F%92%A1", "%ZZ", "__proto__"]) {
            for (const method of ["GET", "PATCH", "DELETE"]) {
                const body = method === "PATCH" ? '{"threshold": 500}' : undefined
                const { status } = await call(method, `/api/device-config/groups/${name}`, body)
                expect([400, 404], `${method} ${name.slice(0, 20)}`).toContain(status)
            }
        }
    })
})

describe("a thousand PATCHes at once", () => {
    test("versions strictly increase, and the device ends on the last one", { timeout: 60_000 }, async () => {
        const hall = await knownDevice("hall")
        const inbox = await Inbox.open(hall, "hall/config")
        const first = (await inbox.nextJson()).json as DeviceConfigPayload
        const n = 1000
        const answers = await Promise.all(
            Array.from({ length: n }, async (_, i) => {
                const { status, json } = await call(
                    "PATCH",
                    "/api/device-config/devices/hall",
                    JSON.stringify({ threshold: 1 + i, band: i % 2 }),
                    // five addresses, each within the API's burst of 200 requests
                    `127.0.0.${2 + (i % 5)}`
                )
                expect(status).toBe(200)
                return (json as DeviceConfigDeviceView).config
            })
        )
        const versions = answers.map(a => a.version).sort((a, b) => a - b)
        // each PATCH changed the values, so each took a version of its own
        expect(new Set(versions).size).toBe(n)
        expect(versions[0]).toBeGreaterThan(first.version)
        const last = answers.find(a => a.version === versions[n - 1])!
        // what the device got, in order: every version above the one before; the last is the last given
        const got: DeviceConfigPayload[] = []
        while (got.at(-1)?.version !== last.version)
            got.push((await inbox.nextJson(10_000)).json as DeviceConfigPayload)
        for (let i = 1; i < got.length; i++) expect(got[i].version).toBeGreaterThan(got[i - 1].version)
        expect(got.at(-1)).toEqual(last)
        expect(await retained("hall/config")).toEqual(last)
        expect(server.controller.deviceConfigOf("hall")!.config).toEqual(last)
    })
})

describe("a thousand fleet-wide PATCHes at once", () => {
    test(
        "every device receives increasing versions and ends on the fleet's last config",
        { timeout: 60_000 },
        async () => {
            // not porch: the forged config above is still retained for it
            const ids = ["hall", LONG_ID]
            const inboxes = await Promise.all(ids.map(async id => Inbox.open(await knownDevice(id), `${id}/config`)))
            const n = 1000
            const answers = await Promise.all(
                Array.from({ length: n }, async (_, i) => {
                    // the rule through /api/settings and the timing through /api/device-config, interleaved
                    const [path, body] =
                        i % 2
                            ? ["/api/settings", { threshold: 150 + Math.floor(i / 2) }]
                            : ["/api/device-config", { reportMs: 1000 + i }]
                    const { status } = await call("PATCH", path, JSON.stringify(body), `127.0.0.${7 + (i % 5)}`)
                    return status
                })
            )
            expect(answers.filter(s => s !== 200)).toEqual([])
            for (const [k, id] of ids.entries()) {
                const want = server.controller.deviceConfigOf(id)!.config
                // hall has a threshold of its own from the test above: it keeps it
                const got: DeviceConfigPayload[] = []
                while (got.at(-1)?.version !== want.version)
                    got.push((await inboxes[k].nextJson(10_000)).json as DeviceConfigPayload)
                for (let i = 1; i < got.length; i++) expect(got[i].version, id).toBeGreaterThan(got[i - 1].version)
                expect(got.at(-1), id).toEqual(want)
                expect(await retained(`${id}/config`), id).toEqual(want)
            }
        }
    )
})

// The groups file refuses such group names; device ids follow the MQTT topic rule, which allows them.
describe("device ids that are names of Object.prototype's properties", () => {
    const IDS = ["__proto__", "constructor", "toString"]

    // Once lost: the whole config was one JSON object keyed by device id, copied into a plain object
    // where a "__proto__" key set the prototype instead of a property. Each device is a row now.
    test("keep their own values and versions across a restart", async () => {
        const admin = await login("admin")
        for (const id of IDS) {
            await admin.publishAsync(`${id}/telemetry`, '{"light": 500}', { qos: 1 })
            await until(`a reading of ${id}`, () => server.controller.device(id) !== undefined)
        }
        for (const id of IDS)
            expect((await call("PATCH", `/api/device-config/devices/${id}`, '{"threshold": 700}')).status).toBe(200)
        const before = IDS.map(id => server.controller.deviceConfigOf(id))
        expect(before.map(v => v?.config.threshold)).toEqual([700, 700, 700])

        for (const client of clients.splice(0)) await closeClient(client)
        await server.stop()
        server = await startServer(settings(), logger)
        const after = IDS.map(id => server.controller.deviceConfigOf(id))
        expect(after).toEqual(before)
    })
})
