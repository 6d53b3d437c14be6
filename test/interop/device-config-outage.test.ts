/**
 * A device config changed while Mosquitto is down (README "Wire protocol": every device's config goes
 * out again when the server reconnects to the broker): the change is answered and kept, and reaches
 * the devices once the broker is back, though it restarted without its retained messages; a device
 * that was away during the change finds it retained when it returns.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import type { DeviceConfigDeviceView } from "../../server/http/api-types"
import type { MqttClientBus } from "../../server/mqtt/client-bus"
import type { DeviceConfigPayload } from "../../server/protocol/contract"
import { Mosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { HOST, closeClient, connectClient, freePort, recordingLogger, until } from "../helpers/mqtt"

const skip = skipWithoutMosquitto(import.meta.filename, "a config changed during a broker outage")

let dir: string
let broker: Mosquitto
let server: RunningServer
const clients: MqttClient[] = []
const received = new Map<string, DeviceConfigPayload[]>()

/** A device that keeps reconnecting (and resubscribing) as the firmware does, recording its configs. */
async function device(id: string): Promise<MqttClient> {
    const client = await connectClient(broker.url, { reconnectPeriod: 200 })
    clients.push(client)
    client.on("message", (_topic, payload) =>
        received.set(id, [...(received.get(id) ?? []), JSON.parse(payload.toString()) as DeviceConfigPayload])
    )
    await client.subscribeAsync(`${id}/config`, { qos: 1 })
    client.publish(`${id}/telemetry`, '{"light": 500}')
    await until(`a reading of ${id}`, () => server.controller.device(id)?.lastLight !== undefined)
    return client
}

const last = (id: string) => received.get(id)?.at(-1)

async function patch(path: string, body: object): Promise<DeviceConfigDeviceView | DeviceConfigPayload> {
    const response = await fetch(`${server.http!.url}${path}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
    })
    expect(response.status, path).toBe(200)
    return (await response.json()) as DeviceConfigDeviceView | DeviceConfigPayload
}

beforeAll(async () => {
    if (skip) return
    dir = mkdtempSync(join(tmpdir(), "nightlight-config-outage-"))
    broker = new Mosquitto(await freePort())
    await broker.start()
    server = await startServer(
        {
            broker: { kind: "external", url: broker.url },
            threshold: 300,
            dataDir: dir,
            http: { enabled: true, host: HOST, port: 0 },
        },
        recordingLogger("silent").logger
    )
})

afterAll(async () => {
    if (skip) return
    for (const client of clients) await closeClient(client)
    await server?.stop()
    await broker?.stop()
    broker?.cleanup()
    rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(skip)("a config changed while the broker is down", () => {
    test("reaches the devices once it is back; one away during the change finds it on return", async () => {
        const bus = server.bus as MqttClientBus
        await until("the server on the broker", () => bus.isOnline)
        const porch = await device("porch")
        const hall = await device("hall")
        await until("both first configs", () => last("porch") !== undefined && last("hall") !== undefined)
        // hall goes away before the outage and stays away through the change
        await closeClient(hall)

        await broker.stop()
        await until("the server to notice the outage", () => !bus.isOnline)
        const porchNow = (await patch("/api/device-config/devices/porch", { threshold: 600 })) as DeviceConfigDeviceView
        const fleetNow = (await patch("/api/device-config", { reportMs: 1500 })) as DeviceConfigPayload
        expect(porchNow.config.threshold).toBe(600)

        await broker.start()
        await until("the server back on the broker", () => bus.isOnline, 10_000)
        await until("porch's config after the outage", () => last("porch")?.reportMs === 1500, 10_000)
        expect(last("porch")).toEqual(server.controller.deviceConfigOf("porch")!.config)
        expect(last("porch")).toMatchObject({ threshold: 600, reportMs: 1500 })
        expect(porch.connected).toBe(true)

        // hall returns: the broker (restarted without retained messages) has its config from the server
        await device("hall")
        await until("hall's config on return", () => last("hall")?.version === fleetNow.version)
        expect(last("hall")).toEqual({ ...fleetNow, threshold: 300 })
    })
})
