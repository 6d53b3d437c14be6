/**
 * The server with --mqtt-url against a real Mosquitto (the broker the lesson's users would run),
 * started here on a free port with a generated config. Includes Mosquitto stopping and coming back.
 *
 * Without the mosquitto binary this file warns loudly and skips, except under CI (CI set), where a
 * missing broker is a failure: the point of CI is to run this.
 */
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import type { RejectionEvent } from "../../server/controller/events"
import { MqttClientBus } from "../../server/mqtt/client-bus"
import { parseSettings } from "../../server/config/settings"
import { Mosquitto, requireMosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { Inbox, closeClient, connectClient, freePort, nextEvent, recordingLogger, within } from "../helpers/mqtt"

describe.skipIf(skipWithoutMosquitto("test/interop/mosquitto.test.ts", "The server on Mosquitto"))(
    "the server on an external Mosquitto broker (--mqtt-url)",
    () => {
        let mosquitto: Mosquitto
        let server: RunningServer
        let client: MqttClient
        let commands: Inbox
        let dark = false
        const { logger, lines } = recordingLogger("info")

        beforeAll(async () => {
            requireMosquitto()
            mosquitto = new Mosquitto(await freePort())
            await mosquitto.start()
            const flags = ["--mqtt-url", mosquitto.url, "--no-sim", "--no-dashboard"]
            const settings = { ...parseSettings(flags, {}), dataDir: undefined }
            server = await startServer(settings, logger, { reconnectPeriodMs: 200 })
            client = await connectClient(mosquitto.url)
            commands = await Inbox.open(client, "+/commands")
        })

        afterAll(async () => {
            await closeClient(client)
            await server?.stop()
            await mosquitto?.stop()
            mosquitto?.cleanup()
        })

        /** Publishes a reading that changes the decision and returns the command it brought. */
        async function roundTrip(deviceId: string, light: number): Promise<unknown> {
            client.publish(`${deviceId}/telemetry`, JSON.stringify({ light }))
            const { topic, json } = await commands.nextJson()
            expect(topic).toBe(`${deviceId}/commands`)
            return json
        }

        test("the lesson's protocol: dark → on, bright → off, nothing while inside the band", async () => {
            expect(server.broker).toBeUndefined()
            expect(await roundTrip("m-dev", 100)).toMatchObject({ led_on: true })
            expect(await roundTrip("m-dev", 900)).toMatchObject({ led_on: false })
            expect(await roundTrip("m-dev", 299)).toMatchObject({ led_on: true })
            client.publish("m-dev/telemetry", JSON.stringify({ light: 300 })) // inside the band: no command
            expect(await roundTrip("m-dev", 401)).toMatchObject({ led_on: false })
        })

        test("several devices each get their own command", async () => {
            const ids = ["m-0", "m-1", "m-2", "m-3"]
            ids.forEach((id, i) => client.publish(`${id}/telemetry`, JSON.stringify({ light: i % 2 ? 10 : 1000 })))
            const seen = new Map<string, unknown>()
            for (const _ of ids) {
                const { topic, json } = await commands.nextJson()
                seen.set(topic, json)
            }
            expect(Object.fromEntries(seen)).toMatchObject(
                Object.fromEntries(ids.map((id, i) => [`${id}/commands`, { led_on: i % 2 === 1 }]))
            )
        })

        test("a restarted server takes up the retained command and ack: seq carries on, no flip", async () => {
            const acks = await Inbox.open(client, "m-keep/acks")
            client.publish("m-keep/telemetry", JSON.stringify({ light: 100, seq: 1, boot: "k1", led: false }))
            const on = (await commands.nextJson()).json as { led_on: boolean; seq: number }
            expect(on.led_on).toBe(true)
            expect((await acks.nextJson()).json).toEqual({ boot: "k1", seq: 1 }) // so Mosquitto retains it
            await server.stop()
            server = await startServer(
                {
                    ...parseSettings(["--mqtt-url", mosquitto.url, "--no-sim", "--no-dashboard"], {}),
                    dataDir: undefined,
                },
                logger,
                {
                    reconnectPeriodMs: 200,
                }
            )
            const held = () => server.controller.device("m-keep")
            const rebuilt = (async () => {
                while (held()?.lastSeq !== 1 || held()?.commandSeq !== on.seq) await new Promise(r => setTimeout(r, 20))
            })()
            await within(5000, "the state rebuilt from Mosquitto's retained messages", rebuilt)
            // a replay of reading 1 (light) is a duplicate; reading 2 inside the band keeps the LED on
            client.publish("m-keep/telemetry", JSON.stringify({ light: 900, seq: 1, boot: "k1", led: true }))
            client.publish("m-keep/telemetry", JSON.stringify({ light: 350, seq: 2, boot: "k1", led: true }))
            client.publish("m-keep/telemetry", JSON.stringify({ light: 50, seq: 3, boot: "k2", led: false }))
            const next = (await commands.nextJson()).json as { led_on: boolean; seq: number }
            // the rebooted device (k2) reports its LED off: it is put right, with a higher seq
            expect(next).toMatchObject({ led_on: true })
            expect(next.seq).toBeGreaterThan(on.seq)
            expect(held()).toMatchObject({ duplicates: 1, boot: "k2", lastSeq: 3 })
        })

        test.each([
            ["not JSON", "hello", "not_json"],
            ["a string light", '{"light": "dark"}', "bad_field"],
            ["out of range", '{"light": 5000}', "bad_field"],
            ["an array", "[1]", "not_object"],
            ["100 KB", JSON.stringify({ light: 1, pad: "x".repeat(100 * 1024) }), "too_large"],
        ])("malformed (%s) is rejected and the device is still served", async (_, payload, reason) => {
            const rejected = nextEvent<RejectionEvent>(server.controller, "rejected")
            client.publish("m-bad/telemetry", payload)
            expect((await rejected).reason).toBe(reason)
            dark = !dark // each valid reading changes the decision, so each gets a command
            expect(await roundTrip("m-bad", dark ? 5 : 900)).toMatchObject({ led_on: dark })
        })

        test("Mosquitto stops and comes back: the server reconnects, subscribes again and serves", async () => {
            const bus = server.bus
            if (!(bus instanceof MqttClientBus)) throw new Error("expected the external-broker bus")
            const offline = nextEvent(bus, "offline")
            await mosquitto.stop()
            await offline
            await closeClient(client) // the test client's connection died with the broker

            const online = nextEvent(bus, "online", 10_000)
            await mosquitto.start()
            await online
            expect(lines.join("")).toMatch(/lost the connection to MQTT broker/)
            expect(lines.join("")).toMatch(/connected to MQTT broker .* again after/)

            // A fresh Mosquitto (no persistence) knows nothing of the old subscription: this round trip
            // works only because the server subscribed again.
            client = await connectClient(mosquitto.url)
            commands = await Inbox.open(client, "+/commands")
            expect(await roundTrip("m-back", 42)).toMatchObject({ led_on: true })
            expect(await roundTrip("m-back", 700)).toMatchObject({ led_on: false })
            // "m-dev" was decided on before the outage, and the fresh Mosquitto lost its retained command:
            // a lesson device that rebooted meanwhile gets its state with its next reading, unchanged or not
            expect(await roundTrip("m-dev", 900)).toMatchObject({ led_on: false })
            // and every device met before the outage finds its config retained again
            const configs = await Inbox.open(client, "m-dev/config")
            const config = await configs.next()
            expect(config.retain).toBe(true)
            expect(JSON.parse(config.payload)).toEqual(server.controller.deviceConfig())
        })
    }
)
