// Two clients with one client id kick each other off the broker. The firmware must not join a
// reconnect storm: a connection that did not last resets nothing, so its retries back off.
import { connect, type MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { FirmwareLog } from "../helpers/firmware-log"
import { Mosquitto, requireMosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { Inbox, closeClient, connectClient, freePort, within } from "../helpers/mqtt"

const DEVICE = "twin-nightlight"
const WINDOW_MS = 30_000

describe.skipIf(skipWithoutMosquitto("test/sim/client-id.test.ts", "Client-id stealing"))(
    "another client steals the device's client id",
    () => {
        let mosquitto: Mosquitto
        let device: SimulatedNightlight
        let firmware: FirmwareLog
        let thief: MqttClient | undefined

        beforeAll(async () => {
            requireMosquitto()
            mosquitto = new Mosquitto(await freePort())
            await mosquitto.start()
            device = new SimulatedNightlight({ brokerUrl: mosquitto.url, deviceId: DEVICE, light: 800 })
            firmware = new FirmwareLog(device)
            await device.start()
            await within(
                15_000,
                "the device to connect",
                (async () => {
                    while (!firmware.matching(/broker: connected/).length) await new Promise(r => setTimeout(r, 50))
                })()
            )
        })

        afterAll(async () => {
            thief?.end(true)
            await device?.stop()
            await mosquitto?.stop()
            mosquitto?.cleanup()
        })

        it("backs off instead of fighting, and recovers once the other client is gone", async () => {
            const since = performance.now()
            let thiefConnects = 0
            // mqtt.js retries every second, as a misconfigured second device would
            thief = connect(mosquitto.url, { clientId: `${DEVICE}nightlight_client`, reconnectPeriod: 1000 })
            thief.on("connect", () => thiefConnects++)
            thief.on("error", () => {})
            await new Promise(r => setTimeout(r, WINDOW_MS))
            thief.end(true)
            thief = undefined
            const deviceConnects = firmware.matching(/broker: connected/, since).length
            console.log(
                `client id stolen for ${WINDOW_MS / 1000} s: the device connected ${deviceConnects} times, ` +
                    `the other client (fixed 1 s retry) ${thiefConnects} times`
            )
            expect(thiefConnects).toBeGreaterThan(0)
            // a client that retried at once would connect about as often as the other one kicks it
            expect(deviceConnects).toBeLessThanOrEqual(8)
            expect(firmware.matching(/lasted only/, since).length).toBeGreaterThan(0)
            // the backoff is capped at 30 s: the device is back within that once alone. "Back" is its
            // readings flowing through the broker: its last connection may have begun just before the other
            // client left, and then there is no new connect to wait for.
            const watcher = await connectClient(mosquitto.url)
            try {
                const readings = await Inbox.open(watcher, `${DEVICE}/telemetry`)
                await readings.next(40_000)
            } finally {
                await closeClient(watcher)
            }
        }, 90_000)
    }
)
