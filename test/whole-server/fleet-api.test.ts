/**
 * The fleet routes of the running server (embedded broker, SQLite in a temp folder, a groups file): real
 * MQTT devices put themselves in each state, and the summary and the filtered pages say so. Then a fleet
 * of thousands registered through the store: a page stays small while the unpaged answer grows with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import type { ApiError, DevicePageResponse, DevicesResponse, SummaryResponse } from "../../server/http/api-types"
import { startServer, type RunningServer } from "../../server/app"
import { EventReader } from "../helpers/event-reader"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

let dir: string
let server: RunningServer
let client: MqttClient
let commands: Inbox
const { logger } = recordingLogger("silent")

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-fleet-"))
    const groupsFile = join(dir, "groups.json")
    writeFileSync(groupsFile, JSON.stringify({ groups: { hall: { members: ["hall-1", "hall-2"] } } }))
    server = await startServer(
        {
            broker: { kind: "embedded", host: HOST, port: 0 },
            threshold: 300,
            band: 100,
            dataDir: dir,
            groupsFile,
            http: { enabled: true, host: HOST, port: 0 },
        },
        logger
    )
    client = await connectClient(server.brokerUrl)
    commands = await Inbox.open(client, "+/commands")
})

afterAll(async () => {
    await closeClient(client)
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
})

async function api<T>(path: string): Promise<{ status: number; body: T; bytes: number }> {
    const response = await fetch(`${server.http!.url}${path}`)
    const text = await response.text()
    return { status: response.status, body: JSON.parse(text) as T, bytes: Buffer.byteLength(text) }
}

async function reading(deviceId: string, payload: object): Promise<void> {
    const before = server.controller.stats().received
    client.publish(`${deviceId}/telemetry`, JSON.stringify(payload))
    await until("the reading to arrive", () => server.controller.stats().received > before)
}

const idsOf = async (query: string) =>
    (await api<DevicePageResponse>(`/api/devices?${query}`)).body.devices.map(d => d.id)

describe("a small fleet of real MQTT devices", () => {
    beforeAll(async () => {
        // dark, reports its LED off: the server decides on, and the device has not followed (yet); it
        // runs config version 1, long replaced (the server's version is at least its clock in seconds)
        await reading("porch", { light: 120, seq: 1, boot: "b1", led: false, local: false, cfg: 1 })
        await commands.next()
        // bright, deciding by itself, and it discarded 3 readings its outbox could not hold
        await reading("attic", { light: 800, seq: 1, boot: "b2", led: false, local: true, dropped: 3 })
        // the lesson's device: light only, no status; the only voter of "hall", which it keeps off
        await reading("hall-1", { light: 500 })
        client.publish("attic/status", "offline", { retain: true })
        await until("attic to be offline", () => server.store.registry.peek("attic")?.online === false)
        client.publish("porch/status", "online", { retain: true })
        await until("porch to be online", () => server.store.registry.peek("porch")?.online === true)
    })

    test("the summary counts each state as a person would read the devices", async () => {
        const { status, body } = await api<SummaryResponse>("/api/summary")
        expect(status).toBe(200)
        expect(body.devices).toBe(3)
        expect(body.counts).toEqual({
            online: 1,
            offline: 1,
            no_status: 1,
            led_on: 1,
            led_off: 2,
            local: 1,
            stale: 0,
            readings_lost: 1,
            led_disagrees: 1,
            config_old: 1,
        })
        expect(body.configVersion).toBe(server.controller.deviceConfig().version)
        expect(body.staleAfterMs).toBe(60_000)
        expect(body.groups).toEqual([{ name: "hall", members: 2, ledOn: false, voters: 1, dark: 0 }])
    })

    test("each count is a filter: the page lists exactly those devices", async () => {
        expect(await idsOf("state=led_disagrees")).toEqual(["porch"])
        expect(await idsOf("state=readings_lost")).toEqual(["attic"])
        expect(await idsOf("state=local")).toEqual(["attic"])
        expect(await idsOf("state=config_old")).toEqual(["porch"])
        expect(await idsOf("state=no_status")).toEqual(["hall-1"])
        expect(await idsOf("state=led_off&sort=light&order=desc")).toEqual(["attic", "hall-1"])
        expect(await idsOf("sort=state")).toEqual(["attic", "hall-1", "porch"])
        expect(await idsOf("q=or")).toEqual(["porch"])
    })

    test("without a query the answer is today's: every device and nothing else", async () => {
        const { body } = await api<DevicesResponse>("/api/devices")
        expect(Object.keys(body)).toEqual(["devices"])
        expect(body.devices.map(d => d.id)).toEqual(["attic", "hall-1", "porch"])
    })

    test("a bad parameter is a 400 naming it, and the server answers on", async () => {
        const bad = await api<ApiError>("/api/devices?state=broken")
        expect({ status: bad.status, field: bad.body.field }).toEqual({ status: 400, field: "state" })
        expect((await api("/api/summary")).status).toBe(200)
    })
})

/** Devices the "thousands" part registers through the store. */
const FLEET_SIZE = 5000

describe("thousands of devices", () => {
    beforeAll(() => {
        const now = Date.now()
        for (let i = 0; i < FLEET_SIZE; i++)
            server.store.registry.update(`bulk-${String(i).padStart(4, "0")}`, now - i * 1000, {
                online: i % 2 === 0,
                light: i % 1024,
                ledOn: i % 1024 < 300,
            })
    })

    test("a page is bounded by its limit while the unpaged answer grows with the fleet", async () => {
        const all = await api<DevicesResponse>("/api/devices")
        const page = await api<DevicePageResponse>("/api/devices?limit=100")
        const most = await api<DevicePageResponse>("/api/devices?limit=1000&offset=4000")
        expect(all.body.devices.length).toBe(FLEET_SIZE + 3)
        expect({ total: page.body.total, shown: page.body.devices.length }).toEqual({
            total: FLEET_SIZE + 3,
            shown: 100,
        })
        expect(most.body.devices.length).toBe(1000)
        // a DeviceView is some 250 bytes of JSON: 100 of them stay far below the whole fleet
        expect(page.bytes).toBeLessThan(40_000)
        expect(page.bytes * 20).toBeLessThan(all.bytes)
        console.log(`/api/devices at ${FLEET_SIZE + 3} devices: ${all.bytes} bytes; ?limit=100: ${page.bytes} bytes`)
    })

    test("filters and counts cover the whole fleet, not one page", async () => {
        const { body } = await api<SummaryResponse>("/api/summary")
        expect(body.devices).toBe(FLEET_SIZE + 3)
        expect(body.counts.online).toBe(FLEET_SIZE / 2 + 1)
        // lastSeen i seconds ago: every device from bulk-0061 on is stale
        expect(body.counts.stale).toBeGreaterThanOrEqual(FLEET_SIZE - 61)
        const offline = await api<DevicePageResponse>("/api/devices?state=offline&sort=lastSeen&order=desc&limit=3")
        expect(offline.body.total).toBe(FLEET_SIZE / 2 + 1)
        // the MQTT device offline a moment ago first, then the bulk ones heard from 1 s and 3 s ago
        expect(offline.body.devices.map(d => d.id)).toEqual(["attic", "bulk-0001", "bulk-0003"])
    })
})

describe("the live stream's fleet view", () => {
    test("a fleet stream gets the counts, then only the devices it watches, from real MQTT", async () => {
        const reader = await EventReader.open(`${server.http!.url}/api/events?view=fleet`)
        try {
            const hello = await reader.next()
            expect(hello).toMatchObject({ type: "hello", devices: [], summary: { devices: FLEET_SIZE + 3 } })
            const stream = hello.type === "hello" ? hello.stream : undefined
            const answer = await fetch(`${server.http!.url}/api/events/${stream}/watch`, {
                method: "PUT",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ devices: ["hall-1"] }),
            })
            expect(answer.status).toBe(200)
            expect(await reader.next()).toMatchObject({ type: "device", device: { id: "hall-1", light: 500 } })
            // porch (not watched) turns bright and is commanded off; hall-1 reads 510: only hall-1's come
            await reading("porch", { light: 900, seq: 2, boot: "b1", led: true, local: false })
            await commands.next()
            await reading("hall-1", { light: 510 })
            const events = [await reader.next(), await reader.next()]
            expect(events).toMatchObject([
                { type: "reading", deviceId: "hall-1", light: 510 },
                { type: "device", device: { id: "hall-1", light: 510 } },
            ])
            // the counts moved (porch's LED is off now): a summary comes within the second
            // (hall-1's group event comes too; anything else would be about a device not watched)
            let next = await reader.next(3000)
            while (next.type === "group") next = await reader.next(3000)
            const ledOnBefore = hello.type === "hello" ? hello.summary?.counts.led_on : undefined
            expect(next).toMatchObject({ type: "summary", summary: { counts: { led_on: ledOnBefore! - 1 } } })
        } finally {
            reader.close()
        }
    })
})
