/**
 * A device's own threshold and band over time, over the API (a real server on a temp data folder, real
 * MQTT and HTTP): the history of a device with an override carries its rule changes, another device's
 * does not, they are kept across a restart, and a fleet stream watching the device hears each change.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, onTestFinished, test } from "vitest"
import type { DeviceConfigOverridePatch, HistoryResponse, LiveEvent } from "../../server/http/api-types"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { SETTINGS_LOG_DEFAULTS } from "../../server/store/settings-log"
import { EventReader } from "../helpers/event-reader"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const { logger } = recordingLogger("silent")
let dir: string
let server: RunningServer | undefined

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-device-rules-"))
    // the steps follow each other within ms here, where a user's take seconds
    const mergeWithinMs = SETTINGS_LOG_DEFAULTS.mergeWithinMs
    SETTINGS_LOG_DEFAULTS.mergeWithinMs = 0
    onTestFinished(() => {
        SETTINGS_LOG_DEFAULTS.mergeWithinMs = mergeWithinMs
    })
})
afterEach(async () => {
    await server?.stop()
    server = undefined
    rmSync(dir, { recursive: true, force: true })
})

function settings(): ServerSettings {
    const groupsFile = join(dir, "groups.json")
    writeFileSync(groupsFile, JSON.stringify({ groups: { stairs: { members: ["porch"] } } }))
    return {
        broker: { kind: "embedded", host: HOST, port: 0 },
        threshold: 300,
        band: 100,
        groupsFile,
        dataDir: dir,
        http: { enabled: true, host: HOST, port: 0 },
    }
}

async function api(method: string, path: string, body?: object): Promise<unknown> {
    const response = await fetch(`${server!.http!.url}${path}`, {
        method,
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
    })
    expect(response.status, `${method} ${path}`).toBe(200)
    return response.json()
}

const history = (id: string, from: number) =>
    api("GET", `/api/devices/${id}/history?from=${from}&to=${Date.now()}&points=100`) as Promise<HistoryResponse>
const override = (id: string, patch: DeviceConfigOverridePatch) =>
    api("PATCH", `/api/device-config/devices/${id}`, patch)
/** Each change a ms apart at least: one ms is the log's key. */
const tick = () => new Promise(resolve => setTimeout(resolve, 2))

async function meet(ids: string[]): Promise<void> {
    const device = await connectClient(server!.brokerUrl)
    for (const id of ids) await device.publishAsync(`${id}/telemetry`, '{"light": 500}', { qos: 1 })
    await until("the server knows them", () => ids.every(id => server!.store.registry.peek(id) !== undefined))
    await closeClient(device)
}

test("a device with its own threshold gets its rule changes in its history; others none", async () => {
    const started = Date.now()
    server = await startServer(settings(), logger)
    await meet(["hall", "attic", "porch"])

    await override("hall", { threshold: 600 })
    await tick()
    // a partial override: the fleet's band change is hall's too, not attic's (no override)
    await api("PATCH", "/api/settings", { band: 50 })
    await tick()
    await api("PATCH", "/api/device-config/groups/stairs", { band: 10 })
    await tick()
    await api("DELETE", "/api/device-config/devices/hall")

    const rules = (h: HistoryResponse) => h.deviceRules!.map(e => e.rule)
    const hall = await history("hall", started)
    expect(rules(hall)).toEqual([{ threshold: 600, band: 100 }, { threshold: 600, band: 50 }, null])
    expect(hall.deviceRules!.every(e => e.t >= started && e.t <= Date.now())).toBe(true)
    expect(hall.settingsHistory!.map(r => r.band)).toEqual([100, 50])
    expect((await history("attic", started)).deviceRules).toEqual([])
    expect(rules(await history("porch", started))).toEqual([{ threshold: 300, band: 10 }])

    // kept across a restart; a range after the change starts with the entry in force
    await server.stop()
    server = await startServer(settings(), logger)
    const after = Date.now()
    expect(rules(await history("porch", after))).toEqual([{ threshold: 300, band: 10 }])
    expect(rules(await history("hall", after))).toEqual([null])
    expect(rules(await history("hall", started))).toEqual(rules(hall))
})

test("a fleet stream watching a device hears its own rule change; one not watching it does not", async () => {
    server = await startServer(settings(), logger)
    await meet(["hall", "attic"])
    const watching = await EventReader.open(`${server.http!.url}/api/events?view=fleet`)
    const other = await EventReader.open(`${server.http!.url}/api/events?view=fleet`)
    try {
        const hello = await watching.next()
        const stream = hello.type === "hello" ? hello.stream : undefined
        await api("PUT", `/api/events/${stream}/watch`, { devices: ["hall"] })
        expect(await watching.next()).toMatchObject({ type: "device", device: { id: "hall" } })
        expect((await other.next()).type).toBe("hello")

        const before = Date.now()
        await override("hall", { threshold: 600 })
        await override("attic", { threshold: 700 })
        await api("PATCH", "/api/settings", { threshold: 350 })
        const seen: LiveEvent[] = []
        while (!seen.some(e => e.type === "settings")) seen.push(await watching.next())
        const own = seen.filter(e => e.type === "rule")
        expect(own).toEqual([
            { type: "rule", deviceId: "hall", rule: { threshold: 600, band: 100 }, at: expect.any(Number) },
        ])
        expect(own[0].type === "rule" && own[0].at).toBeGreaterThanOrEqual(before)

        await api("DELETE", "/api/device-config/devices/hall")
        let next = await watching.next()
        while (next.type !== "rule") next = await watching.next()
        expect(next).toMatchObject({ type: "rule", deviceId: "hall", rule: null })

        // the other stream watches nothing: the fleet's settings come, no device's own rule
        const others: LiveEvent[] = []
        while (!others.some(e => e.type === "settings")) others.push(await other.next())
        expect(others.filter(e => e.type === "rule")).toEqual([])
    } finally {
        watching.close()
        other.close()
    }
})
