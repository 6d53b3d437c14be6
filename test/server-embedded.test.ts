/**
 * The real server (controller + embedded aedes on a free port) driven by real MQTT clients, as devices
 * and tools would: the lesson's protocol both ways, several devices, and hostile input.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import type { MqttClient } from "mqtt"
import { startServer, type RunningServer } from "../server/app"
import type { RejectionEvent, RejectionReason } from "../server/controller"
import { parseSettings } from "../server/settings"
import { Inbox, closeClient, connectClient, nextEvent, recordingLogger } from "./helpers/mqtt"

let server: RunningServer
let client: MqttClient
/** Every command the server sends, to any device. */
let allCommands: Inbox
const { logger, lines } = recordingLogger("info")

beforeAll(async () => {
    const settings = parseSettings(["--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--no-sim"], {})
    server = await startServer(settings, logger)
    client = await connectClient(server.brokerUrl)
    allCommands = await Inbox.open(client, "+/commands")
})

afterAll(async () => {
    await closeClient(client)
    await server?.stop()
})

/** Publishes a reading and returns the command the server sent back for it. */
async function roundTrip(deviceId: string, payload: string): Promise<unknown> {
    client.publish(`${deviceId}/telemetry`, payload)
    const { topic, json } = await allCommands.nextJson()
    expect(topic).toBe(`${deviceId}/commands`)
    return json
}

describe("the lesson's protocol over the embedded broker", () => {
    test("dark → LED on, bright → LED off, on the device's own commands topic", async () => {
        const own = await Inbox.open(client, "dev-a/commands")
        expect(await roundTrip("dev-a", '{"light": 100}')).toEqual({ led_on: true })
        expect(await roundTrip("dev-a", '{"light": 900}')).toEqual({ led_on: false })
        expect((await own.nextJson()).json).toEqual({ led_on: true })
        const second = await own.next()
        expect(JSON.parse(second.payload)).toEqual({ led_on: false })
        // The lesson's delivery: QoS 0, not retained.
        expect(second.qos).toBe(0)
        expect(second.retain).toBe(false)
        expect(lines.join("")).toContain('Message received: {"light": 100} from dev-a')
        expect(lines.join("")).toContain('Sending message: {"led_on":true} to dev-a')
    })

    test("threshold boundary: 299 is dark, 300 is not; extra fields are ignored", async () => {
        expect(await roundTrip("dev-b", '{"light": 299}')).toEqual({ led_on: true })
        expect(await roundTrip("dev-b", '{"light": 300}')).toEqual({ led_on: false })
        expect(await roundTrip("dev-b", '{"light": 0, "version": 2}')).toEqual({ led_on: true })
        expect(await roundTrip("dev-b", '{"light": 1023}')).toEqual({ led_on: false })
        expect(await roundTrip("dev-b", '{"light": 299.9}')).toEqual({ led_on: true })
    })

    test("several devices at once each get only their own command", async () => {
        const ids = Array.from({ length: 6 }, (_, i) => `room-${i}`)
        const devices = await Promise.all(ids.map(() => connectClient(server.brokerUrl)))
        try {
            const inboxes = await Promise.all(devices.map((d, i) => Inbox.open(d, `${ids[i]}/commands`)))
            // Odd devices are in the dark.
            devices.forEach((d, i) => d.publish(`${ids[i]}/telemetry`, JSON.stringify({ light: i % 2 ? 50 : 800 })))
            for (const [i, inbox] of inboxes.entries())
                expect((await inbox.nextJson()).json).toEqual({ led_on: i % 2 === 1 })
            const seen = new Map<string, unknown>()
            for (let i = 0; i < ids.length; i++) {
                const { topic, json } = await allCommands.nextJson()
                seen.set(topic, json)
            }
            expect([...seen.keys()].sort()).toEqual(ids.map(id => `${id}/commands`).sort())
            for (const inbox of inboxes) expect(inbox.pending).toBe(0)
        } finally {
            await Promise.all(devices.map(closeClient))
        }
    })

    test("a burst of readings gets one command each, in order", async () => {
        const lights = Array.from({ length: 500 }, (_, i) => (i * 37) % 1024)
        for (const light of lights) client.publish("burst/telemetry", JSON.stringify({ light }))
        for (const light of lights) expect(await roundTripResult()).toEqual({ led_on: light < 300 })
        async function roundTripResult() {
            const { topic, json } = await allCommands.nextJson()
            expect(topic).toBe("burst/commands")
            return json
        }
    })
})

describe("malformed telemetry", () => {
    const big = JSON.stringify({ light: 100, padding: "x".repeat(100 * 1024) })
    const cases: [name: string, reason: RejectionReason, topic: string, payload: string | Buffer][] = [
        ["not JSON", "not_json", "dev-m/telemetry", "hello"],
        ["binary", "not_json", "dev-m/telemetry", Buffer.from([0xff, 0x00, 0xfe, 0x0a])],
        ["a forged log line", "not_json", "dev-m/telemetry", "x\n[12:00:00.000] INFO: Sending message: {}"],
        ["empty", "not_json", "dev-m/telemetry", ""],
        ["truncated JSON", "not_json", "dev-m/telemetry", '{"light": 1'],
        ["NaN literal", "not_json", "dev-m/telemetry", '{"light": NaN}'],
        ["a string", "bad_field", "dev-m/telemetry", '{"light": "dark"}'],
        ['"NaN" string', "bad_field", "dev-m/telemetry", '{"light": "NaN"}'],
        ["null", "bad_field", "dev-m/telemetry", '{"light": null}'],
        ["negative", "bad_field", "dev-m/telemetry", '{"light": -1}'],
        ["above 1023", "bad_field", "dev-m/telemetry", '{"light": 5000}'],
        ["infinite", "bad_field", "dev-m/telemetry", '{"light": 1e999}'],
        ["missing field", "bad_field", "dev-m/telemetry", '{"lux": 100}'],
        ["an array", "not_object", "dev-m/telemetry", "[100]"],
        ["a bare number", "not_object", "dev-m/telemetry", "100"],
        ["100 KB", "too_large", "dev-m/telemetry", big],
        ["an id with a space", "bad_topic", "bad id/telemetry", '{"light": 100}'],
        ["an empty id", "bad_topic", "/telemetry", '{"light": 100}'],
        ["a 65-character id", "bad_topic", `${"x".repeat(65)}/telemetry`, '{"light": 100}'],
    ]

    test.each(cases)("%s → %s, no command; the next valid reading is served", async (_, reason, topic, payload) => {
        const before = server.controller.stats()
        const rejected = nextEvent<RejectionEvent>(server.controller, "rejected")
        const logLines = lines.length
        client.publish(topic, payload)
        expect(await rejected).toMatchObject({ topic, reason })
        const after = server.controller.stats()
        expect(after.rejected[reason]).toBe(before.rejected[reason] + 1)
        expect(after.received).toBe(before.received + 1)
        const newLines = lines.slice(logLines)
        expect(newLines).toHaveLength(1)
        expect(newLines[0]).toMatch(new RegExp(`WARN.*Rejected telemetry.*${reason}`))
        expect(newLines[0].trimEnd()).not.toContain("\n")
        // Same connection, same order: had the bad reading produced a command, it would come first.
        expect(await roundTrip("dev-m", '{"light": 10}')).toEqual({ led_on: true })
    })

    test("a topic deeper than <id>/telemetry never reaches the server (its subscription is +/telemetry)", async () => {
        const before = server.controller.stats()
        client.publish("a/b/telemetry", '{"light": 10}')
        expect(await roundTrip("dev-m", '{"light": 900}')).toEqual({ led_on: false })
        expect(server.controller.stats().received).toBe(before.received + 1)
    })

    test("counters add up", () => {
        const s = server.controller.stats()
        const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0)
        expect(rejected).toBeGreaterThanOrEqual(cases.length)
        expect(s.commandsFailed).toBe(0)
        expect(s.commandsSent).toBeGreaterThan(500)
        expect(s.received).toBeGreaterThanOrEqual(rejected)
        expect(s.commandsSent + s.commandsFailed).toBeLessThanOrEqual(s.received - rejected)
    })
})
