/**
 * The controller's timing on vitest's fake clock, over an in-memory bus that behaves like a broker for
 * what matters here: publications come back to matching subscriptions, and retained ones are stored
 * and handed to later subscriptions. The real brokers are in test/whole-server/reliable-link.test.ts.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest"
import { NightlightServer } from "../../../server/controller/nightlight-server"
import { ACK_BATCH, ACK_INTERVAL_MS, ACK_MAX_INTERVAL_MS } from "../../../server/controller/ack-sender"
import {
    topicMatches,
    type MessageBus,
    type MessageHandler,
    type PublishOptions,
} from "../../../server/mqtt/message-bus"
import { recordingLogger } from "../../helpers/mqtt"

interface Published {
    topic: string
    payload: string
    options: PublishOptions
}

class MemoryBus implements MessageBus {
    readonly published: Published[] = []
    readonly retained = new Map<string, Buffer>()
    private readonly subscriptions: { filter: string; handler: MessageHandler }[] = []
    /** When set, publish() rejects with it (an outage). */
    failure?: Error

    async start(): Promise<void> {}
    async stop(): Promise<void> {}
    async subscribe(filter: string, handler: MessageHandler): Promise<void> {
        this.subscriptions.push({ filter, handler })
        for (const [topic, payload] of this.retained) if (topicMatches(filter, topic)) handler(topic, payload)
    }
    async publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
        if (this.failure) throw this.failure
        this.published.push({ topic, payload: payload.toString(), options })
        this.deliver(topic, payload, options.retain ?? false)
    }
    /** A message from a device. */
    deliver(topic: string, payload: string | Buffer, retain = false): void {
        const bytes = Buffer.from(payload)
        if (retain) this.retained.set(topic, bytes)
        for (const s of this.subscriptions) if (topicMatches(s.filter, topic)) s.handler(topic, bytes)
    }
    on(topic: string): unknown[] {
        return this.published.filter(p => p.topic === topic).map(p => JSON.parse(p.payload))
    }
}

const T0 = 1_700_000_000_000
let bus: MemoryBus
let server: NightlightServer
let lines: string[]

beforeEach(async () => {
    vi.useFakeTimers({ now: T0 })
    bus = new MemoryBus()
    const recording = recordingLogger("info")
    lines = recording.lines
    server = new NightlightServer({ bus, logger: recording.logger, threshold: 300, band: 100 })
    await server.start()
})
afterEach(async () => {
    await server.stop()
    vi.useRealTimers()
})

const reading = (seq: number, light: number, extra: object = {}) =>
    bus.deliver("dev/telemetry", JSON.stringify({ light, seq, boot: "b1", ...extra }))

describe("acks", () => {
    test("a replay of 600 readings at once: the first ack already covers all of them", async () => {
        for (let seq = 1; seq <= 600; seq++) reading(seq, 900)
        // acks due within ACK_BATCH.windowMs go out together, after one write of the store
        expect(bus.on("dev/acks")).toEqual([])
        vi.advanceTimersByTime(ACK_BATCH.windowMs - 1)
        expect(bus.on("dev/acks")).toEqual([])
        vi.advanceTimersByTime(1)
        expect(bus.on("dev/acks")).toEqual([{ boot: "b1", seq: 600 }])
        const ack = bus.published.find(p => p.topic === "dev/acks")!
        expect(ack.options).toEqual({ qos: 0, retain: true })
        // the throttle's second run, ACK_MAX_INTERVAL_MS after the first, would say the same again: nothing is sent
        vi.advanceTimersByTime(ACK_MAX_INTERVAL_MS + ACK_BATCH.windowMs + 1)
        await vi.runAllTimersAsync()
        expect(bus.on("dev/acks")).toHaveLength(1)
        expect(server.stats().acksSent).toBe(1)
    })

    test("a reading sent again gets its ack again, even when it is the last one sent (the device missed it)", async () => {
        reading(1, 900)
        await vi.runAllTimersAsync()
        reading(1, 900) // a duplicate: the device never got the ack
        await vi.runAllTimersAsync()
        expect(bus.on("dev/acks")).toEqual([
            { boot: "b1", seq: 1 },
            { boot: "b1", seq: 1 },
        ])
    })

    test("acks of many devices: one write of the store per batch; a full batch goes at once", async () => {
        const writes: number[] = []
        const batched = new NightlightServer({
            bus,
            logger: recordingLogger("silent").logger,
            beforeAcks: links => void writes.push(links.size),
        })
        await server.stop()
        await batched.start()
        const device = (i: number) => bus.deliver(`d${i}/telemetry`, JSON.stringify({ light: 900, seq: 1, boot: "b" }))
        for (let i = 0; i < 3; i++) device(i)
        vi.advanceTimersByTime(ACK_BATCH.windowMs)
        expect(writes).toEqual([3])
        expect(bus.published.filter(p => p.topic.endsWith("/acks"))).toHaveLength(3)
        // a full batch does not wait for the window
        for (let i = 10; i < 10 + ACK_BATCH.maxAcks + 2; i++) device(i)
        vi.advanceTimersByTime(0)
        expect(writes).toEqual([3, ACK_BATCH.maxAcks + 2])
        await batched.stop()
    })

    test("readings spread over 10 s: at most one ack per ACK_MAX_INTERVAL_MS, and the last one goes out", () => {
        const acks = () => bus.on("dev/acks") as { seq: number }[]
        for (let seq = 1; seq <= 4000; seq++) {
            reading(seq, 900)
            vi.advanceTimersByTime(2.5)
        }
        vi.runAllTimers()
        // the first at once (with the batch's window), then one per interval, and the last one
        expect(acks().length).toBe(Math.ceil(10_000 / ACK_MAX_INTERVAL_MS) + 1)
        expect(acks()[0].seq).toBeLessThanOrEqual(1 + ACK_BATCH.windowMs / 2.5)
        expect(acks().at(-1)!.seq).toBe(4000)
    })

    test("a device reporting every 2 s gets an ack every 4 s, covering both readings since the last", () => {
        const heard: number[] = []
        for (let seq = 1; seq <= 6; seq++) {
            reading(seq, 900)
            vi.advanceTimersByTime(ACK_BATCH.windowMs)
            heard.push((bus.on("dev/acks").at(-1) as { seq: number }).seq)
            vi.advanceTimersByTime(2000 - ACK_BATCH.windowMs)
        }
        // each look is a batch window after a reading: the ack of 4 s after the first covers the third
        expect(heard).toEqual([1, 1, 3, 3, 5, 5])
        expect(bus.on("dev/acks")).toHaveLength(3)
        expect(ACK_MAX_INTERVAL_MS).toBe(4000)
    })

    test("a device whose localAfterMs is 2 s (reporting every second) gets every reading acknowledged at once", () => {
        reading(1, 900)
        vi.advanceTimersByTime(ACK_BATCH.windowMs)
        expect(server.setDeviceConfigOverride("dev", { reportMs: 1000, localAfterMs: 2000 })).toBe(true)
        vi.advanceTimersByTime(1000 - ACK_BATCH.windowMs)
        for (let seq = 2; seq <= 6; seq++) {
            reading(seq, 900)
            vi.advanceTimersByTime(ACK_BATCH.windowMs)
            expect(bus.on("dev/acks").at(-1)).toEqual({ boot: "b1", seq })
            vi.advanceTimersByTime(1000 - ACK_BATCH.windowMs)
        }
    })

    test("a device that refused its config gets acks every second: its own silence timeout is unknown", () => {
        for (let seq = 1; seq <= 4; seq++) {
            bus.deliver("dev/telemetry", JSON.stringify({ light: 900, seq, boot: "b1", cfgErr: "9: bad" }))
            vi.advanceTimersByTime(ACK_BATCH.windowMs)
            expect(bus.on("dev/acks").at(-1)).toEqual({ boot: "b1", seq })
            vi.advanceTimersByTime(ACK_INTERVAL_MS - ACK_BATCH.windowMs)
        }
    })

    test("duplicates are acknowledged too; devices are throttled separately", () => {
        reading(1, 900)
        reading(1, 900)
        bus.deliver("other/telemetry", JSON.stringify({ light: 900, seq: 7, boot: "x" }))
        vi.runAllTimers()
        expect(bus.on("dev/acks")).toEqual([
            { boot: "b1", seq: 1 },
            { boot: "b1", seq: 1 },
        ])
        expect(bus.on("other/acks")).toEqual([{ boot: "x", seq: 7 }])
        expect(server.device("dev")).toMatchObject({ duplicates: 1, lastSeq: 1 })
    })

    test("another server's ack that reaches readings this one holds: this one's ack goes on the next turn", async () => {
        // a share group (docs/scale-out.md): readings 1 and 3 came here, 2 went to another server
        reading(1, 900)
        vi.advanceTimersByTime(ACK_BATCH.windowMs)
        reading(3, 900, { oldest: 2 }) // the device still holds 2
        vi.advanceTimersByTime(ACK_BATCH.windowMs)
        expect(bus.on("dev/acks")).toEqual([{ boot: "b1", seq: 1 }]) // 3 waits for 2
        bus.deliver("dev/acks", JSON.stringify({ boot: "b1", seq: 2 }), true) // the other server's
        vi.advanceTimersByTime(0) // not the throttle's interval nor the batch's 20 ms
        expect(bus.on("dev/acks").at(-1)).toEqual({ boot: "b1", seq: 3 })
        // an ack that brings nothing new (our own, or one behind) is not answered
        const sent = bus.on("dev/acks").length
        bus.deliver("dev/acks", JSON.stringify({ boot: "b1", seq: 3 }), true)
        bus.deliver("dev/acks", JSON.stringify({ boot: "b1", seq: 2 }), true)
        await vi.runAllTimersAsync()
        expect(bus.on("dev/acks").length).toBe(sent)
    })

    test("stop() sends the acks still waiting", async () => {
        reading(1, 900)
        reading(2, 900)
        await server.stop()
        // one ack covers both: acks are cumulative
        expect(bus.on("dev/acks")).toEqual([{ boot: "b1", seq: 2 }])
        expect(vi.getTimerCount()).toBe(0)
    })
})

describe("commands", () => {
    test("retained QoS 1, with seq and t, only when needed; the lesson's lines are logged", () => {
        reading(1, 900)
        reading(2, 350) // inside the band
        reading(3, 100)
        const commands = bus.published.filter(p => p.topic === "dev/commands")
        expect(commands.map(c => JSON.parse(c.payload))).toEqual([
            { led_on: false, seq: T0, t: T0 },
            { led_on: true, seq: T0 + 1, t: T0 },
        ])
        expect(commands[0].options).toEqual({ qos: 1, retain: true })
        expect(lines.join("")).toContain(`Sending message: {"led_on":false,"seq":${T0},"t":${T0}} to dev`)
        expect(lines.filter(l => l.includes("Sending message"))).toHaveLength(2)
        expect(lines.filter(l => l.includes("Message received"))).toHaveLength(3)
        // our own commands came back through +/commands and changed nothing
        expect(server.device("dev")).toMatchObject({ commandSeq: T0 + 1, ledOn: true })
    })

    test("a mismatching LED gets one command per 2 s, not one per reading", () => {
        reading(1, 100, { led: true })
        for (let seq = 2; seq <= 41; seq++) {
            vi.advanceTimersByTime(250)
            reading(seq, 100, { led: false })
        }
        expect(bus.on("dev/commands")).toHaveLength(1 + 5)
    })

    test("status: a line when a device goes online or offline; its next reading re-sends the decision", () => {
        bus.deliver("dev/status", "online", true)
        reading(1, 100)
        bus.deliver("dev/status", "online", true)
        bus.deliver("dev/status", "offline", true)
        vi.advanceTimersByTime(5000)
        bus.deliver("dev/status", "online", true)
        expect(bus.on("dev/commands")).toHaveLength(1)
        reading(2, 100)
        expect(bus.on("dev/commands")).toEqual([
            { led_on: true, seq: T0, t: T0 },
            { led_on: true, seq: T0 + 5000, t: T0 + 5000 },
        ])
        const statusLines = lines.filter(l => / dev (is online|went offline)/.test(l))
        expect(statusLines).toHaveLength(3)
        expect(server.device("dev")!.online).toBe(true)
        bus.deliver("dev/status", "") // a cleared retained status: ignored
        bus.deliver("dev/status", "sleeping")
        expect(server.device("dev")!.online).toBe(true)
    })

    test("a command the bus could not take is counted, and the next reading sends it again", async () => {
        bus.failure = new Error("not connected to MQTT broker")
        bus.deliver("lesson/telemetry", '{"light": 100}')
        await vi.runAllTimersAsync()
        expect(server.stats()).toMatchObject({ commandsSent: 0, commandsFailed: 1 })
        expect(lines.join("")).toContain("could not send the command to lesson: not connected to MQTT broker")
        bus.failure = undefined
        bus.deliver("lesson/telemetry", '{"light": 100}')
        await vi.runAllTimersAsync()
        expect(bus.on("lesson/commands")).toEqual([{ led_on: true, seq: T0 + 1, t: T0 }])
        expect(server.stats()).toMatchObject({ commandsSent: 1, commandsFailed: 1 })
    })
})

test("retained state from before a restart is taken up at start", async () => {
    const before = new MemoryBus()
    before.deliver("dev/commands", JSON.stringify({ led_on: true, seq: T0 - 1000, t: T0 - 1000 }), true)
    before.deliver("dev/acks", JSON.stringify({ boot: "b1", seq: 9 }), true)
    before.deliver("dev/status", "offline", true)
    before.deliver("junk/commands", "not json", true)
    const restarted = new NightlightServer({ bus: before, logger: recordingLogger("silent").logger })
    await restarted.start()
    expect(restarted.device("dev")).toMatchObject({ ledOn: true, commandSeq: T0 - 1000, boot: "b1", lastSeq: 9 })
    expect(restarted.device("dev")!.online).toBe(false)
    expect(restarted.deviceIds()).toEqual(["dev"])
    // a replayed reading is a duplicate; a new one inside the band keeps the LED on without a command
    before.deliver("dev/telemetry", JSON.stringify({ light: 350, seq: 9, boot: "b1" }))
    before.deliver("dev/telemetry", JSON.stringify({ light: 350, seq: 10, boot: "b1" }))
    expect(restarted.device("dev")).toMatchObject({ duplicates: 1, lastSeq: 10, ledOn: true })
    expect(before.on("dev/commands")).toEqual([])
    await restarted.stop()
})

describe("decisions made at run time", () => {
    test("new settings re-decide every device from its last light, at once", () => {
        reading(1, 350) // in the band, first decision: off
        bus.deliver("other/telemetry", '{"light": 800}')
        const settings: unknown[] = []
        server.on("settings", s => settings.push(s))
        server.updateSettings({ threshold: 500, band: 50 })
        expect(bus.on("dev/commands").at(-1)).toMatchObject({ led_on: true })
        expect(bus.on("other/commands")).toHaveLength(1) // 800 is still bright: nothing new
        expect(settings).toEqual([{ threshold: 500, band: 50 }])
        expect(server.settings()).toEqual({ threshold: 500, band: 50 })
        // and the next reading is decided by the new rule
        reading(2, 540)
        expect(bus.on("dev/commands").at(-1)).toMatchObject({ led_on: true })
        reading(3, 550)
        expect(bus.on("dev/commands").at(-1)).toMatchObject({ led_on: false })
    })

    test("a manual switch is sent with reason manual; unknown devices are refused", () => {
        reading(1, 800)
        const reasons: string[] = []
        server.on("command", (e: { reason: string }) => reasons.push(e.reason))
        expect(server.override("dev", true)).toBe(true)
        expect(bus.on("dev/commands").at(-1)).toMatchObject({ led_on: true })
        expect(reasons).toEqual(["manual"])
        expect(server.override("nobody", true)).toBe(false)
    })

    test("Home Assistant's own status topic (homeassistant/status) is not taken for a device", () => {
        bus.deliver("homeassistant/status", "online")
        expect(server.deviceIds()).toEqual([])
    })
})

test("acks wait for beforeAcks (the store); when it fails, no ack: the device will send the readings again", async () => {
    const failing = new NightlightServer({
        bus,
        logger: recordingLogger("silent").logger,
        beforeAcks: () => {
            throw new Error("disk full")
        },
    })
    await server.stop()
    await failing.start()
    reading(1, 800)
    await vi.runAllTimersAsync()
    expect(bus.on("dev/acks")).toEqual([])
    expect(failing.stats().acksFailed).toBe(1)
    await failing.stop()
})

describe("acks while the store is busy (its worker resets the WAL)", () => {
    let busy: boolean
    let writes: number[]
    let waiting: NightlightServer
    beforeEach(async () => {
        busy = true
        writes = []
        waiting = new NightlightServer({
            bus,
            logger: recordingLogger("silent").logger,
            beforeAcks: links => void writes.push(links.size),
            storeBusy: () => busy,
        })
        await server.stop()
        await waiting.start()
    })
    afterEach(() => waiting.stop())

    test("they wait, none is failed, and the latest goes out once the store is free", () => {
        reading(1, 900)
        reading(2, 900)
        bus.deliver("other/telemetry", JSON.stringify({ light: 900, seq: 1, boot: "b" }))
        vi.advanceTimersByTime(10 * ACK_BATCH.windowMs)
        expect(writes).toEqual([])
        expect(bus.on("dev/acks")).toEqual([])
        busy = false
        vi.advanceTimersByTime(ACK_BATCH.windowMs)
        expect(writes).toEqual([2]) // both devices, in one write
        expect(bus.on("dev/acks")).toEqual([{ boot: "b1", seq: 2 }])
        expect(bus.on("other/acks")).toEqual([{ boot: "b", seq: 1 }])
        expect(waiting.stats().acksFailed).toBe(0)
    })

    test("a server that stops stores and acknowledges what it holds, busy or not", async () => {
        reading(1, 900)
        await waiting.stop()
        expect(writes).toEqual([1])
        expect(bus.on("dev/acks")).toEqual([{ boot: "b1", seq: 1 }])
    })
})
