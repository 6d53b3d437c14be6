// The firmware's own MQTT client (src/mqtt-client.ts) after the broker goes away and comes back:
// it retries with capped backoff and serves the LED again within seconds (the DeviceScript library
// retries every 50 s).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { startServer, type RunningServer } from "../../server/app"
import type { TelemetryEvent } from "../../server/controller"
import { freePort, HOST, recordingLogger, within } from "../helpers/mqtt"
import { ledBecomes } from "../helpers/sim"

const DEVICE = "reconnect-nightlight"
/** Broker back → device reconnected and reporting. The backoff after a 3 s outage is at most ~4 s. */
const RECONNECT_BOUND_MS = 10_000

describe("firmware reconnects after a broker outage", () => {
    let port: number
    let server: RunningServer
    let device: SimulatedNightlight
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
        device = new SimulatedNightlight({ brokerUrl: server.brokerUrl, deviceId: DEVICE, light: 800 })
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
})
