// The firmware's own MQTT client (src/mqtt-client.ts) after the broker goes away and comes back:
// it retries with capped backoff and serves the LED again within seconds (the DeviceScript library
// retries every 50 s).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { startServer, type RunningServer } from "../../server/app"
import type { TelemetryEvent } from "../../server/controller/events"
import { FirmwareLog } from "../helpers/firmware-log"
import { freePort, HOST, recordingLogger, until, within } from "../helpers/mqtt"
import { ledBecomes } from "../helpers/sim"

const DEVICE = "reconnect-nightlight"
/** Broker back → device reconnected and reporting. The backoff after a 3 s outage is at most ~4 s. */
const RECONNECT_BOUND_MS = 10_000

describe("firmware reconnects after a broker outage", () => {
    let port: number
    let server: RunningServer
    let device: SimulatedNightlight
    let firmware: FirmwareLog
    /** What the simulator logged at warn or above: a user reads these as trouble. */
    const warnings: string[] = []
    const { logger } = recordingLogger("silent")
    const start = () => startServer({ broker: { kind: "embedded", host: HOST, port }, threshold: 300 }, logger)
    const reading = (s: RunningServer, light: number) =>
        new Promise<TelemetryEvent>(resolve =>
            s.controller.on(
                "telemetry",
                (e: TelemetryEvent) => e.deviceId === DEVICE && e.light === light && resolve(e)
            )
        )

    beforeAll(async () => {
        port = await freePort()
        server = await start()
        const simLog = {
            debug() {},
            info() {},
            warn: (m: string) => warnings.push(m),
            error: (m: string) => warnings.push(m),
        }
        device = new SimulatedNightlight({ brokerUrl: server.brokerUrl, deviceId: DEVICE, light: 800, logger: simLog })
        firmware = new FirmwareLog(device)
        const first = reading(server, 800)
        await device.start()
        await within(20_000, "the first reading", first)
    })

    afterAll(async () => {
        await device?.stop()
        await server?.stop()
    })

    it("is back, reporting and switching the LED, within seconds of the broker's return", async () => {
        await server.stop()
        await new Promise(r => setTimeout(r, 3000))
        server = await start()
        const back = performance.now()
        await within(RECONNECT_BOUND_MS, "a reading after the broker came back", reading(server, 800))
        const ms = performance.now() - back
        console.log(`broker back → first reading after ${ms.toFixed(0)} ms`)
        expect(ms).toBeLessThan(RECONNECT_BOUND_MS)
        device.setLight(100)
        await ledBecomes(device, true, 2000)
    })

    it("a dropped connection brings the retained command back: applied already, which is no warning", async () => {
        const command = server.controller.device(DEVICE)!.commandSeq
        expect(firmware.appliedCommands().at(-1)).toBe(command)
        const since = performance.now()
        const warned = warnings.length
        // the network drops the device's connection; the broker (and the retained command) stay
        const { clients } = server.broker!.aedes as unknown as { clients: Record<string, { close(): void }> }
        clients[`${DEVICE}nightlight_client`].close()
        await until("the device to reconnect", () => firmware.matching(/broker: connected/, since).length > 0, 10_000)
        const about = new RegExp(`command ${command}:`)
        await until("the retained command to come back", () => firmware.matching(about, since).length > 0, 5000)
        expect(firmware.matching(about, since)[0].line).toBe(`retained command ${command}: applied already`)
        // the dropped connection itself is worth a warning, said once: not the command
        expect(warnings.slice(warned).filter(w => /command/.test(w))).toEqual([])
        for (const w of warnings.slice(warned)) expect(w.split("tcp://").length).toBeLessThanOrEqual(2)
        expect(device.ledOn).toBe(true)
    })
})
