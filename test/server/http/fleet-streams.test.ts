/**
 * The "fleet" view of the live stream (`/api/events?view=fleet` and `PUT /api/events/:stream/watch`)
 * through a real HttpServer on 127.0.0.1 and real fetch, over the in-memory backend: a page gets the
 * counts and only the devices it watches, and nothing a client sends can make a stream watch more than
 * its bound or steer a stream it did not open. The summary timer is checked on vitest's fake clock.
 */
import { PassThrough } from "node:stream"
import { afterEach, describe, expect, test, vi } from "vitest"
import {
    MAX_WATCHED_DEVICES,
    type ApiError,
    type LiveEvent,
    type SummaryResponse,
    type WatchResponse,
} from "../../../server/http/api-types"
import { FleetStreams, STREAM_ID_PATTERN } from "../../../server/http/fleet-streams"
import { HttpServer } from "../../../server/http/http-server"
import { LiveStream } from "../../../server/http/live-stream"
import { MemoryBackend } from "../../helpers/api-backend"
import { EventReader } from "../../helpers/event-reader"
import { recordingLogger } from "../../helpers/mqtt"

const HOST = "127.0.0.1"
const NOW = 1_700_000_000_000

const running: HttpServer[] = []
const readers: EventReader[] = []
afterEach(async () => {
    vi.useRealTimers()
    for (const reader of readers.splice(0)) reader.close()
    await Promise.all(running.splice(0).map(server => server.stop()))
})

async function serve() {
    const backend = new MemoryBackend()
    backend.addDevice("dev-a", { light: 120, lastSeen: NOW - 1000 })
    backend.addDevice("dev-b", { light: 900, lastSeen: NOW - 1000 })
    const { logger } = recordingLogger("warn")
    const server = new HttpServer({ backend, host: HOST, port: 0, logger, clock: () => NOW })
    await server.start()
    running.push(server)
    const url = (path: string) => `${server.url}${path}`
    const open = async (path = "/api/events?view=fleet") => {
        const reader = await EventReader.open(url(path))
        readers.push(reader)
        const hello = await reader.next()
        if (hello.type !== "hello") throw new Error(`the stream began with ${hello.type}`)
        return { reader, hello }
    }
    const watch = (stream: string, body: unknown, type = "application/json") =>
        fetch(url(`/api/events/${encodeURIComponent(stream)}/watch`), {
            method: "PUT",
            headers: { "Content-Type": type },
            body: typeof body === "string" ? body : JSON.stringify(body),
        })
    return { backend, url, open, watch }
}

async function problem(response: Response): Promise<{ status: number; field?: string; error: string }> {
    const body = (await response.json()) as ApiError
    return { status: response.status, field: body.field, error: body.error }
}

describe("the fleet view of the live stream", () => {
    test("greets with the counts and an id instead of every device, then sends only what it watches", async () => {
        const { backend, open, watch } = await serve()
        const { reader, hello } = await open()
        expect(hello.devices).toEqual([])
        expect(hello.summary).toMatchObject({ devices: 2, at: NOW })
        expect(hello.stream).toMatch(STREAM_ID_PATTERN)

        // Not watched yet: the reading is not sent; the settings change after it is the next event.
        backend.addReading("dev-a", NOW, 50)
        backend.updateSettings({ threshold: 280 })
        expect(await reader.next()).toMatchObject({ type: "settings" })

        const answer = await watch(hello.stream!, { devices: ["dev-a", "dev-a", "not-yet"] })
        expect({ status: answer.status, body: (await answer.json()) as WatchResponse }).toEqual({
            status: 200,
            body: { watching: 2 },
        })
        // The state it missed, in stream order; the unknown id waits for the device.
        expect(await reader.next()).toMatchObject({ type: "device", device: { id: "dev-a", light: 50 } })
        backend.addReading("dev-b", NOW + 1, 60)
        backend.addReading("not-yet", NOW + 2, 70)
        expect(await reader.next()).toMatchObject({ type: "reading", deviceId: "not-yet" })
        expect(await reader.next()).toMatchObject({ type: "device", device: { id: "not-yet" } })

        // A new list replaces the old one.
        await watch(hello.stream!, { devices: ["dev-b"] })
        expect(await reader.next()).toMatchObject({ type: "device", device: { id: "dev-b", light: 60 } })
        backend.addReading("dev-a", NOW + 3, 80)
        backend.addCommand("dev-b", NOW + 4, true, "dark")
        expect(await reader.next()).toMatchObject({ type: "command", deviceId: "dev-b" })
    })

    test("the stream without a view is unchanged: every device in hello, every event", async () => {
        const { backend, open } = await serve()
        const { reader, hello } = await open("/api/events")
        expect(hello.devices.map(d => d.id)).toEqual(["dev-a", "dev-b"])
        expect(hello).not.toHaveProperty("stream")
        backend.addReading("dev-b", NOW, 60)
        expect(await reader.next()).toMatchObject({ type: "reading", deviceId: "dev-b" })
    })

    test("sends a summary when the counts change", async () => {
        const { backend, open } = await serve()
        const { reader } = await open()
        backend.addDevice("dev-c", { online: false })
        const event = await reader.next(3000)
        expect(event.type).toBe("summary")
        const summary = (event as { summary: SummaryResponse }).summary
        expect(summary.devices).toBe(3)
        expect(summary.counts.offline).toBe(1)
    })

    test("refuses what it cannot take, naming the field, and keeps the stream's list", async () => {
        const { backend, open, watch, url } = await serve()
        const { reader, hello } = await open()
        const stream = hello.stream!
        await watch(stream, { devices: ["dev-a"] })
        expect(await reader.next()).toMatchObject({ type: "device", device: { id: "dev-a" } })

        expect(await problem(await fetch(url("/api/events?view=cards")))).toMatchObject({ status: 400, field: "view" })
        expect(await problem(await watch(stream, { devices: ["ok", ".."] }))).toMatchObject({
            status: 400,
            field: "devices.1",
        })
        expect(await problem(await watch(stream, { devices: "dev-a" }))).toMatchObject({
            status: 400,
            field: "devices",
        })
        expect(await problem(await watch(stream, { devices: [], more: 1 }))).toMatchObject({
            status: 400,
            field: "more",
        })
        expect(await problem(await watch(stream, "{not json"))).toMatchObject({ status: 400 })
        expect(await problem(await watch(stream, { devices: [] }, "text/plain"))).toMatchObject({ status: 415 })
        const tooMany = Array.from({ length: MAX_WATCHED_DEVICES + 1 }, (_, i) => `d${i}`)
        expect(await problem(await watch(stream, { devices: tooMany }))).toMatchObject({
            status: 400,
            field: "devices",
        })
        // The most ids, each as long as an id may be: taken, not refused for its size.
        const longest = Array.from({ length: MAX_WATCHED_DEVICES }, (_, i) => `${i}`.padStart(64, "x"))
        expect((await watch(stream, { devices: longest })).status).toBe(200)
        await watch(stream, { devices: ["dev-a"] })
        expect(await reader.next()).toMatchObject({ type: "device", device: { id: "dev-a" } }) // watched anew

        // The list still holds after the refusals: dev-a's reading comes, dev-b's does not.
        backend.addReading("dev-b", NOW, 1)
        backend.addReading("dev-a", NOW + 1, 2)
        expect(await reader.next()).toMatchObject({ type: "reading", deviceId: "dev-a" })
    })

    test("a stream that is not open, or not the shape of one, is 404; a closed one's id stops working", async () => {
        const { open, watch } = await serve()
        const { reader, hello } = await open()
        for (const id of ["x".repeat(22), "nope", "../events", hello.stream!.slice(1)])
            expect(await problem(await watch(id, { devices: [] }))).toMatchObject({ status: 404, field: "stream" })
        expect((await watch(hello.stream!, { devices: [] })).status).toBe(200)
        reader.close()
        // The server hears the close a moment later: ask until it says 404 (bounded: 50 tries, 1 s).
        let status = 200
        for (let i = 0; i < 50 && status === 200; i++) {
            status = (await watch(hello.stream!, { devices: [] })).status
            if (status === 200) await new Promise(resolve => setTimeout(resolve, 20))
        }
        expect(status).toBe(404)
    })
})

describe("FleetStreams' summary timer (fake clock)", () => {
    function fleetOf(backend: MemoryBackend) {
        const fleet = new FleetStreams(backend, Date.now, 1000)
        const target = new PassThrough()
        let text = ""
        target.on("data", chunk => (text += String(chunk)))
        const stream = new LiveStream(target)
        const events = () =>
            [...text.matchAll(/^data: (.*)$/gm)].map(m => JSON.parse(m[1]) as LiveEvent).filter(e => e.type !== "hello")
        return { fleet, stream, events }
    }

    test("counts once a second, sends only a change, and stops with the last stream", async () => {
        vi.useFakeTimers({ now: NOW })
        const backend = new MemoryBackend()
        backend.addDevice("dev-a", { online: true })
        const { fleet, stream, events } = fleetOf(backend)
        const greeting = fleet.summary()
        stream.start({ type: "hello", devices: [], groups: [], settings: { threshold: 300, band: 100 } })
        const { id } = fleet.add(stream, greeting)
        const flush = async (ms: number) => {
            await vi.advanceTimersByTimeAsync(ms)
        }
        await flush(5000) // only the clock moved: nothing to send
        expect(events()).toEqual([])
        backend.addDevice("dev-b", { online: false })
        await flush(999)
        expect(events()).toEqual([])
        await flush(1 + 200)
        expect(events()).toMatchObject([{ type: "summary", summary: { devices: 2, counts: { offline: 1 } } }])
        await flush(3000)
        expect(events()).toHaveLength(1)
        fleet.remove(id)
        expect(vi.getTimerCount()).toBe(1) // only the stream's own heartbeat is left
        stream.close()
    })
})
