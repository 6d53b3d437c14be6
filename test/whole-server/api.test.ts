/**
 * The HTTP API of the running server (embedded broker, SQLite in a temp folder, groups file), with real
 * MQTT clients as devices: what the dashboard and a script would see and change. Also what survives a
 * restart: the registry, the history and the settings changed at run time.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import type {
    DevicesResponse,
    DeviceView,
    GroupsResponse,
    HistoryResponse,
    RuleSettings,
} from "../../server/http/api-types"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

let dir: string
let settings: ServerSettings
let server: RunningServer
let client: MqttClient
let commands: Inbox
const { logger } = recordingLogger("silent")

async function start(): Promise<void> {
    server = await startServer(settings, logger)
    client = await connectClient(server.brokerUrl)
    commands = await Inbox.open(client, "+/commands")
}

async function stop(): Promise<void> {
    await closeClient(client)
    await server?.stop()
}

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-api-"))
    const groupsFile = join(dir, "groups.json")
    writeFileSync(groupsFile, JSON.stringify({ groups: { hall: { members: ["hall-1", "hall-2", "hall-3"] } } }))
    settings = {
        broker: { kind: "embedded", host: HOST, port: 0 },
        threshold: 300,
        band: 100,
        dataDir: dir,
        groupsFile,
        http: { enabled: true, host: HOST, port: 0 },
    }
    await start()
})

afterAll(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
})

async function api<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
    const response = await fetch(`${server.http!.url}${path}`, init)
    return { status: response.status, body: (await response.json()) as T }
}

const send = (method: string, body: unknown): RequestInit => ({
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
})

async function reading(deviceId: string, payload: object): Promise<void> {
    const before = server.controller.stats().received
    client.publish(`${deviceId}/telemetry`, JSON.stringify(payload))
    await until("the reading to arrive", () => server.controller.stats().received > before)
}

describe("devices and history", () => {
    test("a device that reported is listed with its light, the decision and who decides", async () => {
        await reading("porch", { light: 120, seq: 1, boot: "b1", led: false, local: false })
        await commands.next()
        const { status, body } = await api<DevicesResponse>("/api/devices")
        expect(status).toBe(200)
        const porch = body.devices.find(d => d.id === "porch")
        expect(porch).toMatchObject({ light: 120, ledOn: true, decider: "server", group: null, simulated: false })
        expect(porch?.lastCommand).toMatchObject({ ledOn: true, reason: "first" })
        expect(porch!.firstSeen).toBeLessThanOrEqual(porch!.lastSeen)
    })

    test("a device deciding by itself says so", async () => {
        await reading("porch", { light: 130, seq: 2, boot: "b1", led: true, local: true })
        expect((await api<DeviceView>("/api/devices/porch")).body.decider).toBe("device")
    })

    test("history: the readings in the range, oldest first, with the commands and the settings", async () => {
        for (const [seq, light] of [
            [3, 500],
            [4, 520],
        ])
            await reading("porch", { light, seq, boot: "b1", led: true })
        await commands.next() // off at 500
        const { status, body } = await api<HistoryResponse>(`/api/devices/porch/history?from=0&to=${Date.now() + 1000}`)
        expect(status).toBe(200)
        expect(body.bucketMs).toBe(0)
        expect(body.readings.map(r => r.light)).toEqual([120, 130, 500, 520])
        expect(body.commands.map(c => c.ledOn)).toEqual([true, false])
        expect(body.settings).toEqual({ threshold: 300, band: 100 })
    })

    test("unknown device: 404; bad query: 400 naming the parameter", async () => {
        expect((await api("/api/devices/nobody")).status).toBe(404)
        const bad = await api<{ error: string; field?: string }>("/api/devices/porch/history?from=later")
        expect(bad.status).toBe(400)
        expect(bad.body.field).toBe("from")
    })
})

describe("settings and groups changed at run time", () => {
    test("a new threshold applies at once: a LED the new rule switches gets its command without a new reading", async () => {
        // porch's last light is 520, off; a threshold of 600 makes it dark
        const { status, body } = await api<RuleSettings>("/api/settings", send("PATCH", { threshold: 600 }))
        expect(status).toBe(200)
        expect(body).toEqual({ threshold: 600, band: 100 })
        const { topic, json } = await commands.nextJson()
        expect(topic).toBe("porch/commands")
        expect(json).toMatchObject({ led_on: true })
    })

    test("an invalid setting is refused, naming the field, and changes nothing", async () => {
        const bad = await api<{ field?: string }>("/api/settings", send("PATCH", { threshold: 5000 }))
        expect(bad.status).toBe(400)
        expect(bad.body.field).toBe("threshold")
        expect((await api<RuleSettings>("/api/settings")).body.threshold).toBe(600)
    })

    test("groups: listed with members and votes; a rule change is validated against the group", async () => {
        const { body } = await api<GroupsResponse>("/api/groups")
        expect(body.groups).toEqual([
            expect.objectContaining({ name: "hall", members: ["hall-1", "hall-2", "hall-3"] }),
        ])
        const tooMany = await api<{ field?: string }>("/api/groups/hall", send("PATCH", { kind: "at-least", dark: 4 }))
        expect(tooMany.status).toBe(400)
        expect(tooMany.body.field).toBe("dark")
        const ok = await api<{ rule: unknown }>("/api/groups/hall", send("PATCH", { kind: "at-least", dark: 1 }))
        expect(ok.status).toBe(200)
        expect(ok.body.rule).toMatchObject({ kind: "at-least", dark: 1 })
        expect((await api("/api/groups/nope", send("PATCH", { minVoters: 1 }))).status).toBe(404)
    })
})

describe("after a restart", () => {
    test("the registry, the history and the settings changed at run time are still there", async () => {
        await stop()
        await start()
        const porch = (await api<DeviceView>("/api/devices/porch")).body
        expect(porch).toMatchObject({ light: 520, ledOn: true })
        expect((await api<RuleSettings>("/api/settings")).body).toEqual({ threshold: 600, band: 100 })
        const groups = (await api<GroupsResponse>("/api/groups")).body.groups
        expect(groups[0].rule).toMatchObject({ kind: "at-least", dark: 1 })
        const history = (await api<HistoryResponse>(`/api/devices/porch/history?from=0&to=${Date.now() + 1000}`)).body
        expect(history.readings).toHaveLength(4)
    })
})
