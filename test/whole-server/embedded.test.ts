/**
 * The real server (controller + embedded aedes on a free port) driven by real MQTT clients, as devices
 * and tools would: the lesson's protocol both ways, several devices, and hostile input. The reliable
 * link's own fields (seq, acks, status) are in reliable-link.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import type { MqttClient } from "mqtt"
import { startServer, type RunningServer } from "../../server/app"
import type { RejectionEvent, RejectionReason } from "../../server/controller/events"
import { decideLedWithBand } from "../../server/protocol/contract"
import { parseSettings } from "../../server/config/settings"
import { Inbox, closeClient, connectClient, nextEvent, recordingLogger } from "../helpers/mqtt"

let server: RunningServer
let client: MqttClient
/** Every command the server sends, to any device. */
let allCommands: Inbox
const { logger, lines } = recordingLogger("info")

beforeAll(async () => {
    // history in memory (no --data-dir), no dashboard: this file is about MQTT
    const flags = ["--mqtt-host", "127.0.0.1", "--mqtt-port", "0", "--no-sim", "--no-dashboard"]
    const settings = { ...parseSettings(flags, {}), dataDir: undefined }
    server = await startServer(settings, logger)
    client = await connectClient(server.brokerUrl)
    allCommands = await Inbox.open(client, "+/commands")
})

afterAll(async () => {
    await closeClient(client)
    await server?.stop()
})

/**
 * Publishes a reading and returns the command the server sent back for it, without its seq and t
 * (checked here). Only for readings that change the decision: the server answers no other.
 */
async function roundTrip(deviceId: string, payload: string): Promise<unknown> {
    client.publish(`${deviceId}/telemetry`, payload)
    const { topic, json } = await allCommands.nextJson()
    expect(topic).toBe(`${deviceId}/commands`)
    const { seq, t, ...lesson } = json as { seq: number; t: number }
    expect(Number.isSafeInteger(seq) && Number.isSafeInteger(t)).toBe(true)
    return lesson
}

/** A reading that needs no command: checked by the next roundTrip, whose command must come first. */
function quiet(deviceId: string, payload: string): void {
    client.publish(`${deviceId}/telemetry`, payload)
}

describe("the lesson's protocol over the embedded broker", () => {
    test("dark → LED on, bright → LED off, on the device's own commands topic", async () => {
        const own = await Inbox.open(client, "dev-a/commands")
        expect(await roundTrip("dev-a", '{"light": 100}')).toEqual({ led_on: true })
        expect(await roundTrip("dev-a", '{"light": 900}')).toEqual({ led_on: false })
        expect((await own.nextJson()).json).toMatchObject({ led_on: true })
        const second = await own.next()
        expect(JSON.parse(second.payload)).toMatchObject({ led_on: false })
        // A lesson device subscribes with QoS 0 and gets its commands so (they are sent retained, QoS 1).
        expect(second.qos).toBe(0)
        expect(lines.join("")).toContain('Message received: {"light": 100} from dev-a')
        expect(lines.join("")).toMatch(/Sending message: \{"led_on":true,"seq":\d+,"t":\d+\} to dev-a/)
    })

    test("threshold and band: on below 300, off from 400, as it was in between; extra fields ignored", async () => {
        expect(await roundTrip("dev-b", '{"light": 299}')).toEqual({ led_on: true })
        for (const light of [300, 350, 399, 299, 100]) quiet("dev-b", JSON.stringify({ light }))
        expect(await roundTrip("dev-b", '{"light": 400}')).toEqual({ led_on: false })
        for (const light of [399, 300, 1023]) quiet("dev-b", JSON.stringify({ light }))
        expect(await roundTrip("dev-b", '{"light": 0, "version": 2}')).toEqual({ led_on: true })
        expect(await roundTrip("dev-b", '{"light": 1023}')).toEqual({ led_on: false })
        expect(await roundTrip("dev-b", '{"light": 299.9}')).toEqual({ led_on: true })
        expect(await roundTrip("dev-b", '{"light": 400.5}')).toEqual({ led_on: false })
    })

    test("several devices at once each get only their own command", async () => {
        const ids = Array.from({ length: 6 }, (_, i) => `room-${i}`)
        const devices = await Promise.all(ids.map(() => connectClient(server.brokerUrl)))
        try {
            const inboxes = await Promise.all(devices.map((d, i) => Inbox.open(d, `${ids[i]}/commands`)))
            // Odd devices are in the dark.
            devices.forEach((d, i) => d.publish(`${ids[i]}/telemetry`, JSON.stringify({ light: i % 2 ? 50 : 800 })))
            for (const [i, inbox] of inboxes.entries())
                expect((await inbox.nextJson()).json).toMatchObject({ led_on: i % 2 === 1 })
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

    test("a burst of 500 readings gets a command each time the decision changes, in order", async () => {
        const lights = Array.from({ length: 500 }, (_, i) => (i * 37) % 1024)
        const expected: boolean[] = []
        let led: boolean | undefined
        for (const light of lights) {
            const next = decideLedWithBand(light, led, 300, 100)
            if (next !== led) expected.push(next)
            led = next
        }
        expect(expected.length).toBeGreaterThan(30)
        for (const light of lights) client.publish("burst/telemetry", JSON.stringify({ light }))
        let seq = 0
        for (const ledOn of expected) {
            const { topic, json } = await allCommands.nextJson()
            expect(topic).toBe("burst/commands")
            const command = json as { led_on: boolean; seq: number }
            expect(command.led_on).toBe(ledOn)
            expect(command.seq).toBeGreaterThan(seq)
            seq = command.seq
        }
        await until(() => server.controller.device("burst")?.lastLight === lights[lights.length - 1])
        expect(allCommands.pending).toBe(0)
    })
})

/** Polls a condition every 10 ms, for at most 5 s. */
async function until(condition: () => boolean): Promise<void> {
    for (let waited = 0; !condition(); waited += 10) {
        if (waited > 5000) throw new Error("timed out waiting for a condition")
        await new Promise(r => setTimeout(r, 10))
    }
}

describe("malformed telemetry", () => {
    /** Dark and light in turn, so that each valid reading of dev-m changes the decision. */
    let dark = false
    const nextValid = () => {
        dark = !dark
        return { payload: JSON.stringify({ light: dark ? 10 : 900 }), command: { led_on: dark } }
    }

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
        const valid = nextValid()
        expect(await roundTrip("dev-m", valid.payload)).toEqual(valid.command)
    })

    test("a number too large to be one (1e999) is named as it parsed, not as null", async () => {
        const rejected = nextEvent<RejectionEvent>(server.controller, "rejected")
        const logLines = lines.length
        client.publish("dev-m/telemetry", '{"light": 1e999}')
        await rejected
        const [line] = lines.slice(logLines)
        expect(line).toContain('"light" must be a number in 0..1023, got Infinity')
        const valid = nextValid()
        expect(await roundTrip("dev-m", valid.payload)).toEqual(valid.command)
    })

    test("a topic deeper than <id>/telemetry never reaches the server (its subscription is +/telemetry)", async () => {
        const before = server.controller.stats()
        client.publish("a/b/telemetry", '{"light": 10}')
        const valid = nextValid()
        expect(await roundTrip("dev-m", valid.payload)).toEqual(valid.command)
        expect(server.controller.stats().received).toBe(before.received + 1)
    })

    test("counters add up", async () => {
        // (not the forged line above, which is a WARN)
        const sending = lines.filter(l => /^\S+ INFO: Sending message:/.test(l)).length
        // a command counts as sent once the broker took it
        await until(() => server.controller.stats().commandsSent === sending)
        const s = server.controller.stats()
        const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0)
        expect(rejected).toBeGreaterThanOrEqual(cases.length)
        expect(s.commandsFailed).toBe(0)
        expect(s.commandsSent).toBeGreaterThan(50)
        expect(s.acksSent).toBe(0) // the lesson's readings carry no seq
        expect(s.received).toBeGreaterThanOrEqual(rejected)
        expect(s.commandsSent + s.commandsFailed).toBeLessThanOrEqual(s.received - rejected)
    })
})
