// A full outbox: a long outage with a tiny outbox (OUTBOX_SIZE 10). The device drops its oldest
// readings and says how many; the server counts as lost exactly those it never got, and acks do not
// stall on them. Some dropped ones may have reached the server before their ack reached the device.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { startServer, type RunningServer } from "../../server/app"
import { ACK_MAX_INTERVAL_MS } from "../../server/controller/ack-sender"
import { FirmwareLog } from "../helpers/firmware-log"
import { Mosquitto, requireMosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { freePort, recordingLogger, until } from "../helpers/mqtt"

const DEVICE = "overflow-nightlight"
const OUTBOX_SIZE = 10
const REPORT_MS = 500

describe.skipIf(skipWithoutMosquitto("test/sim/outbox-overflow.test.ts", "A full outbox"))(
    "an outage longer than the outbox holds",
    () => {
        let mosquitto: Mosquitto
        let server: RunningServer
        let device: SimulatedNightlight
        let firmware: FirmwareLog
        const { logger } = recordingLogger("silent")
        /** Sequence numbers the server got (one boot: the device does not restart here). */
        const received = new Set<number>()

        beforeAll(async () => {
            requireMosquitto()
            mosquitto = new Mosquitto(await freePort())
            await mosquitto.start()
            server = await startServer({ broker: { kind: "external", url: mosquitto.url }, threshold: 300 }, logger, {
                reconnectPeriodMs: 200,
            })
            // the server's config replaces the device's own REPORT_MS (src/device-config.ts)
            server.controller.updateDeviceDefaults({ reportMs: REPORT_MS })
            server.controller.on("telemetry", e => {
                if (e.deviceId === DEVICE && e.seq !== undefined) received.add(e.seq)
            })
            device = new SimulatedNightlight({
                brokerUrl: mosquitto.url,
                deviceId: DEVICE,
                light: 800,
                reportMs: REPORT_MS,
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

        it("drops the oldest, reports the count, and the server counts as lost exactly those it never got", async () => {
            // a few seconds of readings first: with acks up to 4 s apart, some the server has are not yet
            // acknowledged when the broker goes
            await until("a few readings", () => server.controller.device(DEVICE)!.lastSeq >= 6, 20_000)
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
                `outbox of ${OUTBOX_SIZE}, 12 s outage at 2 readings/s: ${d.dropped} dropped by the device, ${d.gaps} of them never got by the server`
            )
            const neverGot: number[] = []
            for (let seq = 1; seq <= d.lastSeq; seq++) if (!received.has(seq)) neverGot.push(seq)
            expect(d.dropped).toBeGreaterThan(5)
            expect(d.gaps).toBe(neverGot.length)
            // one run of lost readings, the newest of those the device dropped (it drops its oldest)
            const firstLost = neverGot[0]!
            const lastLost = neverGot[neverGot.length - 1]!
            expect(lastLost - firstLost + 1).toBe(neverGot.length)
            // the rest of what it dropped came before them, and the server had each: it had not yet
            // acknowledged them when the broker went (acks cover a few seconds of readings)
            const droppedButGot = d.dropped - d.gaps
            expect(droppedButGot).toBeGreaterThanOrEqual(0)
            expect(droppedButGot).toBeLessThanOrEqual(ACK_MAX_INTERVAL_MS / REPORT_MS + 1)
            for (let seq = firstLost - droppedButGot; seq < firstLost; seq++) expect(received.has(seq)).toBe(true)
            expect(received.has(lastLost + 1)).toBe(true)
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
