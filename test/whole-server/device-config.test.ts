/**
 * The devices' configuration on `<id>/config` (README "Wire protocol"), through the assembled server with
 * logins on its embedded broker and real device clients: each known device finds its config retained,
 * a change through PATCH /api/settings or /api/device-config reaches every device with a higher version, that version
 * survives a restart, and a device can neither read another's config nor publish one.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { saveCredentials, type Role } from "../../server/auth/credentials"
import { hashPassword } from "../../server/auth/password-hash"
import type { DeviceView } from "../../server/http/api-types"
import type { DeviceConfigPayload } from "../../server/protocol/contract"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const USERS: Record<string, Role> = { porch: "device", hall: "device", admin: "admin" }
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

/** A device the server has heard from: it publishes a reading and waits until the server has it. */
async function knownDevice(name: string, reading: object = { light: 500 }): Promise<MqttClient> {
    const device = await login(name)
    device.publish(`${name}/telemetry`, JSON.stringify(reading))
    await until(`a reading of ${name}`, () => server.controller.device(name)?.lastLight !== undefined)
    return device
}

async function configOf(inbox: Inbox): Promise<{ config: DeviceConfigPayload; retain: boolean; qos: number }> {
    const message = await inbox.next()
    return { config: JSON.parse(message.payload) as DeviceConfigPayload, retain: message.retain, qos: message.qos }
}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await fetch(`${server.http!.url}${path}`, init)
    expect(response.status, `${init?.method ?? "GET"} ${path}`).toBe(200)
    return (await response.json()) as T
}

const patchSettings = (body: object) =>
    api("/api/settings", {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
    })

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-device-config-"))
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

describe("device configs on the embedded broker", () => {
    test("a device the server met finds its config retained (QoS 1): the run-time rule and the firmware's defaults", async () => {
        const porch = await knownDevice("porch")
        // subscribed only now, after the server published it: the broker keeps it for the device
        const inbox = await Inbox.open(porch, "porch/config")
        const { config, retain } = await configOf(inbox)
        expect(retain).toBe(true)
        expect(config).toEqual({
            version: server.controller.stats().configVersion,
            threshold: 300,
            band: 100,
            reportMs: 2000,
            minChange: 20,
            localAfterMs: 10000,
        })
        // never below the clock in seconds: a server that lost its database still sends newer versions
        expect(config.version).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 60)
        // a QoS 1 subscription gets it at QoS 1, as the firmware subscribes
        const qos1 = await login("porch")
        const inbox1 = new Promise<number>(resolve => qos1.on("message", (_t, _p, packet) => resolve(packet.qos)))
        await qos1.subscribeAsync("porch/config", { qos: 1 })
        expect(await inbox1).toBe(1)
    })

    test("a change of the rule reaches every device at once with a higher version, and the API shows who runs it", async () => {
        const porch = await knownDevice("porch")
        const hall = await knownDevice("hall")
        const porchConfigs = await Inbox.open(porch, "porch/config")
        const hallConfigs = await Inbox.open(hall, "hall/config")
        const before = (await configOf(porchConfigs)).config
        expect((await configOf(hallConfigs)).config).toEqual(before)

        await patchSettings({ threshold: 250, band: 60 })
        const porchNow = await configOf(porchConfigs)
        const hallNow = await configOf(hallConfigs)
        expect(porchNow.config).toMatchObject({ threshold: 250, band: 60, reportMs: 2000 })
        expect(porchNow.config.version).toBeGreaterThan(before.version)
        expect(hallNow.config).toEqual(porchNow.config)
        expect(server.controller.stats().configVersion).toBe(porchNow.config.version)
        // the same values again are no new version
        await patchSettings({ threshold: 250 })
        expect(server.controller.stats().configVersion).toBe(porchNow.config.version)

        // porch says it runs the new one, hall the old one, and a lesson device says nothing
        porch.publish("porch/telemetry", JSON.stringify({ light: 500, cfg: porchNow.config.version }))
        hall.publish("hall/telemetry", JSON.stringify({ light: 500, cfg: before.version, cfgErr: '"band" missing' }))
        const lesson = await login("admin")
        lesson.publish("lesson/telemetry", '{"light": 500}')
        await until("the lesson device's reading", () => server.controller.device("lesson") !== undefined)
        await until("porch's version", () => server.controller.configVersion("porch") === porchNow.config.version)
        await until("hall's version", () => server.controller.configVersion("hall") === before.version)
        const { devices } = await api<{ devices: DeviceView[] }>("/api/devices")
        const byId = new Map(devices.map(d => [d.id, d]))
        expect(byId.get("porch")).toMatchObject({ configVersion: porchNow.config.version, configError: null })
        expect(byId.get("hall")).toMatchObject({ configVersion: before.version, configError: '"band" missing' })
        expect(byId.get("lesson")).toMatchObject({ configVersion: null, configError: null })
        const stats = await api<{ server: Record<string, number> }>("/api/stats")
        expect(stats.server.configVersion).toBe(porchNow.config.version)
    })

    test("a device cannot read another device's config, even through a wildcard", async () => {
        await knownDevice("hall")
        const porch = await login("porch")
        await expect(porch.subscribeAsync("hall/config")).rejects.toThrow(/Subscribe error/)
        await expect(porch.subscribeAsync("+/config")).rejects.toThrow(/Subscribe error/)
        // its own is allowed, and delivers its own only
        const own = await Inbox.open(porch, "porch/config")
        expect((await own.next()).topic).toBe("porch/config")
    })

    test("a device cannot publish a config, its own included: the server's stays retained", async () => {
        const porch = await knownDevice("porch")
        const current = server.controller.deviceConfig()
        const forged = { ...current, version: current.version + 1000, threshold: 1023 }
        // QoS 1: the broker acknowledges the refused publish too, so this returns once it was handled
        await porch.publishAsync("porch/config", JSON.stringify(forged), { qos: 1, retain: true })
        await porch.publishAsync("hall/config", JSON.stringify(forged), { qos: 1, retain: true })
        const watcher = await login("admin")
        for (const id of ["porch", "hall"]) {
            const retained = await Inbox.open(watcher, `${id}/config`)
            expect((await retained.nextJson()).json, id).toEqual(current)
        }
    })

    test("PATCH /api/device-config changes the report policy and silence timeout of every device", async () => {
        const porch = await knownDevice("porch")
        const inbox = await Inbox.open(porch, "porch/config")
        const before = (await configOf(inbox)).config
        const answer = await api<DeviceConfigPayload>("/api/device-config", {
            method: "PATCH",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ reportMs: 1000, localAfterMs: 5000 }),
        })
        const { config } = await configOf(inbox)
        expect(config).toEqual(answer)
        expect(config).toMatchObject({ threshold: 250, band: 60, reportMs: 1000, minChange: 20, localAfterMs: 5000 })
        expect(config.version).toBeGreaterThan(before.version)
        expect(await api("/api/device-config")).toEqual(config)
    })

    test("a restart keeps the version while nothing changed, and sends every known device its config again", async () => {
        const version = server.controller.stats().configVersion
        for (const client of clients.splice(0)) await closeClient(client)
        await server.stop()
        server = await startServer(settings(), logger)
        expect(server.controller.stats().configVersion).toBe(version)
        // the embedded broker lost its retained messages with the restart: the server sent them again
        const hall = await login("hall")
        const inbox = await Inbox.open(hall, "hall/config")
        expect((await configOf(inbox)).config).toMatchObject({ version, threshold: 250, band: 60, reportMs: 1000 })
    })

    test("a restart with a new --threshold is a new version, sent to the devices", async () => {
        const before = server.controller.deviceConfig()
        for (const client of clients.splice(0)) await closeClient(client)
        await server.stop()
        // --threshold changed since the run-time change: it wins (SavedSettings), and so a new version; the
        // band changed at run time stays, its configuration being the same
        server = await startServer({ ...settings(), threshold: 350 }, logger)
        const after = server.controller.deviceConfig()
        expect(after).toMatchObject({ threshold: 350, band: 60, reportMs: 1000, localAfterMs: 5000 })
        expect(after.version).toBeGreaterThan(before.version)
        const porch = await login("porch")
        const inbox = await Inbox.open(porch, "porch/config")
        expect((await configOf(inbox)).config).toEqual(after)
    })
})
