// A full outbox: a long outage with a tiny outbox (OUTBOX_SIZE 10). The device drops its oldest
// readings and says how many; the server counts exactly those as lost, and acks do not stall on them.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { startServer, type RunningServer } from "../../server/app"
import { FirmwareLog } from "../helpers/firmware-log"
import { Mosquitto, requireMosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { freePort, recordingLogger, until } from "../helpers/mqtt"

const DEVICE = "overflow-nightlight"
const OUTBOX_SIZE = 10

describe.skipIf(skipWithoutMosquitto("test/sim/outbox-overflow.test.ts", "A full outbox"))(
    "an outage longer than the outbox holds",
    () => {
        let mosquitto: Mosquitto
        let server: RunningServer
        let device: SimulatedNightlight
        let firmware: FirmwareLog
        const { logger } = recordingLogger("silent")

        beforeAll(async () => {
            requireMosquitto()
            mosquitto = new Mosquitto(await freePort())
            await mosquitto.start()
            server = await startServer({ broker: { kind: "external", url: mosquitto.url }, threshold: 300 }, logger, {
                reconnectPeriodMs: 200,
            })
            // the server's config replaces the device's own REPORT_MS (src/device-config.ts). A 2 s silence
            // timeout also keeps the acks a second apart (ackIntervalFor): 4 s apart, readings the server
            // holds but has not acknowledged yet would be among those the device drops, and are not lost.
            server.controller.updateDeviceDefaults({ reportMs: 500, localAfterMs: 2000 })
            device = new SimulatedNightlight({
                brokerUrl: mosquitto.url,
                deviceId: DEVICE,
                light: 800,
                reportMs: 500,
                settings: { OUTBOX_SIZE },
            })
            firmware = new FirmwareLog(device)
            await device.start()
            await until(
                "the first acknowledged reading",
                () => (server.controller.device(DEVICE)?.acked ?? 0) >= 1,
                20_000
            )
        })

        afterAll(async () => {
            await device?.stop()
            await server?.stop()
            await mosquitto?.stop()
            mosquitto?.cleanup()
        })

        it("drops the oldest, reports the count, and the server counts exactly those as lost", async () => {
            await mosquitto.stop()
            // 12 s at one reading per 500 ms: about 24 readings for 10 places
            await new Promise(r => setTimeout(r, 12_000))
            await mosquitto.start()
            await until(
                "the server to catch up",
                () => {
                    const d = server.controller.device(DEVICE)!
                    return d.acked === d.lastSeq && d.lastSeq >= firmware.lastSentSeq() && d.dropped > 0
                },
                30_000
            )
            const d = server.controller.device(DEVICE)!
            console.log(
                `outbox of ${OUTBOX_SIZE}, 12 s outage at 2 readings/s: ${d.dropped} dropped by the device, ${d.gaps} counted lost by the server`
            )
            expect(d.dropped).toBeGreaterThan(5)
            expect(d.gaps).toBe(d.dropped)
            // and the link goes on: new readings are acknowledged as they come
            const before = d.acked
            await until(
                "newer readings acknowledged",
                () => server.controller.device(DEVICE)!.acked > before + 2,
                10_000
            )
        }, 90_000)
    }
)
