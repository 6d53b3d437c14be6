/**
 * A group's and a device's own config values (issue 18, "the narrower winning") through the assembled
 * server, its embedded broker and HTTP API, with devices that are real MQTT clients with the firmware's
 * reliable link: an override reaches only the devices it changes (on `<id>/config`, a new version), the
 * server decides a device by its own threshold and a group's members vote by theirs, clearing falls back
 * to the wider value, config_old compares with each device's own version, and a restart keeps it all.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import type {
    DeviceConfigDeviceView,
    DeviceConfigGroupView,
    DeviceView,
    GroupsResponse,
    SummaryResponse,
} from "../../server/http/api-types"
import type { DeviceConfigPayload } from "../../server/protocol/contract"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { ReliableDevice } from "../helpers/reliable-device"

const MEMBERS = ["pitch-1", "pitch-2", "pitch-3"]
const ALONE = ["porch", "hall"]
const LIGHT = 500

let dir: string
let groupsFile: string
let server: RunningServer
let watcher: MqttClient
const devices = new Map<string, ReliableDevice>()
/** Every config the broker delivered, by device: what each device would have received. */
const configs = new Map<string, DeviceConfigPayload[]>()
const { logger } = recordingLogger("silent")

const settings = (): ServerSettings => ({
    broker: { kind: "embedded", host: HOST, port: 0 },
    threshold: 300,
    band: 100,
    groupsFile,
    dataDir: dir,
    http: { enabled: true, host: HOST, port: 0 },
})

async function watchConfigs(): Promise<void> {
    configs.clear()
    watcher = await connectClient(server.brokerUrl)
    watcher.on("message", (topic, payload) => {
        const id = topic.slice(0, -"/config".length)
        configs.set(id, [...(configs.get(id) ?? []), JSON.parse(payload.toString()) as DeviceConfigPayload])
    })
    await watcher.subscribeAsync("+/config", { qos: 1 })
}

const received = (id: string) => configs.get(id) ?? []
const lastConfig = (id: string) => received(id).at(-1)

async function connectAll(): Promise<void> {
    for (const id of [...MEMBERS, ...ALONE]) {
        const device = new ReliableDevice(id)
        await device.connect(server.brokerUrl)
        devices.set(id, device)
    }
}

/** Each device takes a reading and waits for its ack: a command it caused has arrived before the ack. */
async function report(ids: string[], light = LIGHT): Promise<void> {
    const sent = ids.map(id => ({ device: devices.get(id)!, seq: devices.get(id)!.read(light).seq }))
    await until(`acks of ${ids.join(", ")}`, () => sent.every(({ device, seq }) => device.acked >= seq))
}

async function call<T>(method: string, path: string, body?: object): Promise<{ status: number; json: T }> {
    const response = await fetch(`${server.http!.url}${path}`, {
        method,
        headers: body ? { "content-type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
    })
    return { status: response.status, json: (await response.json()) as T }
}

async function ok<T>(method: string, path: string, body?: object): Promise<T> {
    const { status, json } = await call<T>(method, path, body)
    expect(status, `${method} ${path}: ${JSON.stringify(json)}`).toBe(200)
    return json
}

const configsSent = () => server.controller.stats().configsSent
const led = (id: string) => devices.get(id)!.led

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-overrides-"))
    groupsFile = join(dir, "groups.json")
    writeFileSync(groupsFile, JSON.stringify({ groups: { stadium: { members: MEMBERS, rule: "majority" } } }))
    server = await startServer(settings(), logger)
    await watchConfigs()
    await connectAll()
    await report([...MEMBERS, ...ALONE])
    await until("every device's first config", () => [...MEMBERS, ...ALONE].every(id => received(id).length === 1))
})

afterAll(async () => {
    for (const device of devices.values()) await device.close()
    await closeClient(watcher)
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
})

describe("a device's own values", () => {
    test("reach that device alone, with a new version, and the server switches it by its own threshold", async () => {
        const fleet = server.controller.deviceConfig()
        expect(led("porch")).toBe(false) // 500 is bright by the fleet's 300
        const sentBefore = configsSent()

        const view = await ok<DeviceConfigDeviceView>("PATCH", "/api/device-config/devices/porch", {
            threshold: 600,
            reportMs: 1000,
        })
        expect(view.config).toMatchObject({ threshold: 600, band: 100, reportMs: 1000, minChange: 20 })
        expect(view.config.version).toBeGreaterThan(fleet.version)
        expect(view.sources).toEqual({
            threshold: "device",
            band: "fleet",
            reportMs: "device",
            minChange: "fleet",
            localAfterMs: "fleet",
        })
        expect(view.override).toEqual({ threshold: 600, reportMs: 1000 })

        await until("porch's new config", () => received("porch").length === 2)
        expect(lastConfig("porch")).toEqual(view.config)
        expect(configsSent() - sentBefore).toBe(1)
        // 500 < 600: dark by porch's own threshold, at once rather than at its next reading
        await until("porch switched on", () => led("porch"))
        await report(["porch", "hall"])
        expect([led("porch"), led("hall")]).toEqual([true, false])
        // the fleet's config is untouched
        expect(await ok("GET", "/api/device-config")).toEqual(fleet)
    })

    test("a value out of range is a 400 naming it; an unknown device or group is a 404", async () => {
        const tooHigh = await call<{ field?: string }>("PATCH", "/api/device-config/devices/porch", { band: 5000 })
        expect(tooHigh.status).toBe(400)
        expect(tooHigh.json.field).toBe("band")
        expect((await call("PATCH", "/api/device-config/devices/porch", { colour: 1 })).status).toBe(400)
        expect((await call("GET", "/api/device-config/devices/never-seen")).status).toBe(404)
        expect((await call("PATCH", "/api/device-config/devices/never-seen", { threshold: 5 })).status).toBe(404)
        expect((await call("DELETE", "/api/device-config/groups/nope")).status).toBe(404)
        expect((await ok<DeviceConfigDeviceView>("GET", "/api/device-config/devices/porch")).override).toEqual({
            threshold: 600,
            reportMs: 1000,
        })
    })

    test("config_old compares a device's version with its own config's, not the newest version given", async () => {
        const hallVersion = lastConfig("hall")!.version
        expect(hallVersion).toBeLessThan(lastConfig("porch")!.version)
        const hall = await connectClient(server.brokerUrl)
        hall.publish("hall/telemetry", JSON.stringify({ light: LIGHT, cfg: hallVersion }))
        hall.publish("porch/telemetry", JSON.stringify({ light: LIGHT, cfg: hallVersion }))
        await until("both versions reported", () =>
            ["hall", "porch"].every(id => server.controller.configVersion(id) === hallVersion)
        )
        await closeClient(hall)
        const summary = await ok<SummaryResponse>("GET", "/api/summary")
        // porch runs the fleet's version but was sent a newer one of its own; hall runs its own
        expect(summary.counts.config_old).toBe(1)
        const { devices: views } = await ok<{ devices: DeviceView[] }>("GET", "/api/devices?state=config_old")
        expect(views.map(d => d.id)).toEqual(["porch"])
        expect(views[0].configSent).toBe(lastConfig("porch")!.version)
    })

    test("clearing falls back to the fleet's values: a new version, and the fleet's threshold decides", async () => {
        const before = lastConfig("porch")!
        const view = await ok<DeviceConfigDeviceView>("DELETE", "/api/device-config/devices/porch")
        expect(view.override).toEqual({})
        expect(Object.values(view.sources)).toEqual(["fleet", "fleet", "fleet", "fleet", "fleet"])
        const { version, ...values } = view.config
        const { version: _fleetVersion, ...fleet } = server.controller.deviceConfig()
        expect(values).toEqual(fleet)
        expect(version).toBeGreaterThan(before.version)
        await until("porch's config back to the fleet's", () => lastConfig("porch")?.version === version)
        await until("porch switched off", () => !led("porch"))
    })
})

describe("a group's own values", () => {
    test("reach its members only, and each member votes by its own effective threshold", async () => {
        const sentBefore = configsSent()
        const aloneBefore = ALONE.map(id => received(id).length)
        // pitch-1 counts 500 as bright whatever its group says: its own value is narrower
        await ok("PATCH", "/api/device-config/devices/pitch-1", { threshold: 350 })
        await until("pitch-1's own config", () => lastConfig("pitch-1")?.threshold === 350)

        const group = await ok<DeviceConfigGroupView>("PATCH", "/api/device-config/groups/stadium", {
            threshold: 700,
            minChange: 5,
        })
        expect(group).toEqual({ name: "stadium", members: MEMBERS, override: { threshold: 700, minChange: 5 } })
        await until("the members' configs", () => MEMBERS.every(id => lastConfig(id)?.minChange === 5))
        expect(MEMBERS.map(id => lastConfig(id)!.threshold)).toEqual([350, 700, 700])
        // one version for the change, above every earlier one
        const versions = new Set(MEMBERS.map(id => lastConfig(id)!.version))
        expect(versions.size).toBe(1)
        expect(configsSent() - sentBefore).toBe(1 + MEMBERS.length)
        expect(ALONE.map(id => received(id).length)).toEqual(aloneBefore)

        const pitch1 = await ok<DeviceConfigDeviceView>("GET", "/api/device-config/devices/pitch-1")
        expect(pitch1).toMatchObject({
            group: "stadium",
            override: { threshold: 350 },
            groupOverride: { threshold: 700, minChange: 5 },
        })
        expect(pitch1.sources).toMatchObject({ threshold: "device", minChange: "group", band: "fleet" })

        // 500 is dark for pitch-2 and -3 (below 700), bright for pitch-1 (350 + 100): two of three vote dark
        await report(MEMBERS)
        const { groups } = await ok<GroupsResponse>("GET", "/api/groups")
        expect(groups[0]).toMatchObject({ ledOn: true, votes: { voters: 3, dark: 2 } })
        await until("every member on", () => MEMBERS.every(led))
    })

    test("a change of the fleet's threshold skips the devices whose own or group's value covers it", async () => {
        const before = new Map([...MEMBERS, ...ALONE].map(id => [id, received(id).length]))
        await ok("PATCH", "/api/settings", { threshold: 320 })
        await until("the lone devices' configs", () => ALONE.every(id => lastConfig(id)?.threshold === 320))
        // the members' thresholds are the group's or their own: nothing new for them
        await report(MEMBERS)
        expect(MEMBERS.map(id => received(id).length)).toEqual(MEMBERS.map(id => before.get(id)))
        expect(lastConfig("porch")!.version).toBe(server.controller.deviceConfig().version)
    })
})

describe("timing that would leave a device deciding by itself beside the server", () => {
    /** Every device's config as the server has it (versions included): what it sends them. */
    const everyConfig = () => [...MEMBERS, ...ALONE].map(id => server.controller.deviceConfigOf(id)?.config)

    /** A 400 naming localAfterMs, and nothing changed: no device's config, the API's values as before. */
    async function refused(method: string, path: string, body: object, says: RegExp): Promise<void> {
        const before = [await ok<unknown>("GET", path), everyConfig()]
        const { status, json } = await call<{ error: string; field?: string }>(method, path, body)
        expect(status).toBe(400)
        expect(json.field).toBe("localAfterMs")
        expect(json.error).toMatch(says)
        expect([await ok<unknown>("GET", path), everyConfig()]).toEqual(before)
    }

    test("the fleet's reports further apart than its silence timeout allows are refused", async () => {
        // 60 s reports with the default 10 s timeout: every device would go local between its reports
        await refused(
            "PATCH",
            "/api/device-config",
            { reportMs: 60_000 },
            /^the fleet's localAfterMs 10000 .* reportMs 60000/
        )
    })

    test("a fleet change is refused for the device whose own timeout it would undercut, naming it", async () => {
        await ok("PATCH", "/api/device-config/devices/hall", { localAfterMs: 3000 })
        try {
            await refused("PATCH", "/api/device-config", { reportMs: 5000 }, /^device hall: localAfterMs 3000/)
            // the fleet's own 10 s covers 5 s reports: fine once hall's timeout is longer
            await ok("PATCH", "/api/device-config/devices/hall", { localAfterMs: 6000 })
            const fleet = await ok<{ reportMs: number }>("PATCH", "/api/device-config", { reportMs: 5000 })
            expect(fleet.reportMs).toBe(5000)
        } finally {
            await ok("PATCH", "/api/device-config", { reportMs: 2000 })
            await ok("DELETE", "/api/device-config/devices/hall")
        }
    })

    test("a device's or a group's values are checked as its devices would run them", async () => {
        await refused(
            "PATCH",
            "/api/device-config/devices/porch",
            { reportMs: 20_000, localAfterMs: 3000 },
            /^device porch: /
        )
        await refused(
            "PATCH",
            "/api/device-config/groups/stadium",
            { reportMs: 9500 },
            /^device pitch-1: .* reportMs 9500/
        )
        // at least reportMs + 1 s is enough
        const view = await ok<DeviceConfigDeviceView>("PATCH", "/api/device-config/devices/porch", { reportMs: 9000 })
        expect(view.config).toMatchObject({ reportMs: 9000, localAfterMs: 10_000 })
        await ok("DELETE", "/api/device-config/devices/porch")
    })
})

describe("a restart", () => {
    test("keeps the overrides and each device's version, and sends every device its own config again", async () => {
        // set then cleared before the stop: nothing of it may come back
        await ok("PATCH", "/api/device-config/devices/hall", { threshold: 650, minChange: 7 })
        const cleared = await ok<DeviceConfigDeviceView>("DELETE", "/api/device-config/devices/hall")
        expect(cleared.override).toEqual({})
        const views = await Promise.all(
            [...MEMBERS, ...ALONE].map(id => ok<DeviceConfigDeviceView>("GET", `/api/device-config/devices/${id}`))
        )
        for (const device of devices.values()) await device.close()
        devices.clear()
        await closeClient(watcher)
        await server.stop()

        server = await startServer(settings(), logger)
        await watchConfigs()
        await until("every device's config again", () => [...MEMBERS, ...ALONE].every(id => received(id).length > 0))
        for (const view of views) {
            expect(await ok("GET", `/api/device-config/devices/${view.id}`)).toEqual(view)
            expect(lastConfig(view.id)).toEqual(view.config)
        }
        expect(await ok("GET", "/api/device-config/devices/hall")).toMatchObject({
            override: {},
            config: cleared.config,
            sources: { threshold: "fleet", minChange: "fleet" },
        })
        expect((await ok<DeviceConfigGroupView>("GET", "/api/device-config/groups/stadium")).override).toEqual({
            threshold: 700,
            minChange: 5,
        })
    })
})
