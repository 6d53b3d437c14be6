/**
 * The devices' config versions against a clock that jumps (README "Wire protocol": `version` grows with
 * every change and never falls below the server's clock in seconds) and across restarts: the assembled
 * server with only `Date` faked (sockets and timers stay real), a device of our own on its embedded
 * broker. A version that repeated, or fell, would make the device ignore the change as not newer.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import type { DeviceConfigDeviceView } from "../../server/http/api-types"
import type { DeviceConfigPayload } from "../../server/protocol/contract"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const DAY = 86_400_000
const REAL_START = Date.now()

let dir: string
let server: RunningServer
let device: MqttClient | undefined
/** Every config the device received, in order. */
let received: DeviceConfigPayload[] = []
const { logger } = recordingLogger("silent")

const settings = (threshold = 300): ServerSettings => ({
    broker: { kind: "embedded", host: HOST, port: 0 },
    threshold,
    band: 100,
    dataDir: dir,
    groupsFile: join(dir, "groups.json"),
    http: { enabled: true, host: HOST, port: 0 },
})

/** The server's clock (Date only), `offsetMs` from the real one. */
function clockAt(offsetMs: number): void {
    vi.setSystemTime(REAL_START + offsetMs)
}

async function start(threshold?: number): Promise<void> {
    server = await startServer(settings(threshold), logger)
    device = await connectClient(server.brokerUrl)
    device.on("message", (_topic, payload) => received.push(JSON.parse(payload.toString()) as DeviceConfigPayload))
    await device.subscribeAsync("porch/config", { qos: 1 })
    device.publish("porch/telemetry", '{"light": 500}')
    await until("a reading of porch", () => server.controller.device("porch")?.lastLight !== undefined)
}

async function stop(): Promise<void> {
    await closeClient(device)
    await server.stop()
}

async function patch(path: string, body: object): Promise<void> {
    const response = await fetch(`${server.http!.url}${path}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
    })
    expect(response.status, path).toBe(200)
}

/** The config porch is sent now, once it has arrived. */
async function delivered(): Promise<DeviceConfigPayload> {
    const sent = (await deviceView()).config
    await until(`porch's config ${sent.version}`, () => received.at(-1)?.version === sent.version)
    expect(received.at(-1)).toEqual(sent)
    return sent
}

async function deviceView(): Promise<DeviceConfigDeviceView> {
    const response = await fetch(`${server.http!.url}/api/device-config/devices/porch`)
    return (await response.json()) as DeviceConfigDeviceView
}

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-config-clock-"))
    writeFileSync(join(dir, "groups.json"), JSON.stringify({ groups: { front: { members: ["porch"] } } }))
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true })
    await start()
})

afterEach(() => clockAt(0))

afterAll(async () => {
    await stop()
    vi.useRealTimers()
    rmSync(dir, { recursive: true, force: true })
})

describe("versions against the clock", () => {
    test("a clock set back a day: every change still takes a version above all before", async () => {
        const versions = [(await delivered()).version]
        clockAt(-DAY)
        await patch("/api/device-config/devices/porch", { threshold: 400 })
        versions.push((await delivered()).version)
        await patch("/api/device-config/groups/front", { reportMs: 1000 })
        versions.push((await delivered()).version)
        await patch("/api/device-config", { minChange: 30 })
        versions.push((await delivered()).version)
        for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1])
    })

    test("a clock a year ahead, then right again: no version falls back to the clock", async () => {
        clockAt(365 * DAY)
        await patch("/api/device-config/devices/porch", { band: 50 })
        const ahead = await delivered()
        expect(ahead.version).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000))
        clockAt(0)
        await patch("/api/device-config/devices/porch", { band: 60 })
        expect((await delivered()).version).toBeGreaterThan(ahead.version)
    })

    test("a restart with the clock set back: nothing lost, the device's config and version kept", async () => {
        const before = await deviceView()
        await stop()
        clockAt(-2 * DAY)
        received = []
        await start()
        // the embedded broker lost its retained messages: the server sends the same config again
        expect(await delivered()).toEqual(before.config)
        expect(await deviceView()).toEqual(before)
        await patch("/api/device-config/devices/porch", { threshold: 450 })
        expect((await delivered()).version).toBeGreaterThan(before.config.version)
    })

    test("a restart with a new --threshold and the clock set back: a version above every one given", async () => {
        const before = (await deviceView()).config
        await stop()
        clockAt(-3 * DAY)
        received = []
        await start(350)
        const fleet = server.controller.deviceConfig()
        expect(fleet.threshold).toBe(350)
        expect(fleet.version).toBeGreaterThan(before.version)
        // porch's own threshold covers the fleet's: its values stay (a start gives every device the fleet's
        // new version, unlike a change at run time: harmless, the device applies the same values again)
        const now = await delivered()
        expect({ ...now, version: 0 }).toEqual({ ...before, version: 0 })
        expect(now.version).toBeGreaterThanOrEqual(before.version)
    })
})
