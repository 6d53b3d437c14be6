/**
 * One contract, two implementations: the in-process bus inside the embedded aedes, and the mqtt.js
 * client bus against a real aedes broker on a free port. Both are driven by a real MQTT client.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import type { MqttClient } from "mqtt"
import { EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { EmbeddedBus } from "../../../server/mqtt/embedded-bus"
import { isValidTopicFilter, topicMatches, type MessageBus } from "../../../server/mqtt/message-bus"
import { MqttClientBus } from "../../../server/mqtt/client-bus"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until, within } from "../../helpers/mqtt"

const { logger, lines } = recordingLogger("info")

const implementations = [
    { name: "EmbeddedBus (in-process aedes)", make: (broker: EmbeddedBroker) => new EmbeddedBus(broker, logger) },
    {
        name: "MqttClientBus (mqtt.js client to aedes)",
        make: (broker: EmbeddedBroker) => new MqttClientBus({ url: broker.url, logger }),
    },
]

/** Collects what a handler receives; next() waits for the next delivery. */
function recorder() {
    const received: { topic: string; payload: Buffer }[] = []
    let wake: (() => void) | undefined
    const handler = (topic: string, payload: Buffer) => {
        received.push({ topic, payload })
        wake?.()
    }
    let read = 0
    const next = async (what = "a delivery") => {
        if (read >= received.length) await within(5000, what, new Promise<void>(resolve => (wake = resolve)))
        return received[read++]
    }
    return { handler, received, next }
}

describe.each(implementations)("MessageBus contract: $name", ({ make }) => {
    let broker: EmbeddedBroker
    let bus: MessageBus
    let client: MqttClient

    beforeEach(async () => {
        broker = new EmbeddedBroker({ host: HOST, port: 0, logger })
        await broker.start()
        bus = make(broker)
        client = await connectClient(broker.url)
    })
    afterEach(async () => {
        await closeClient(client)
        await bus.stop()
        await broker.stop()
    })

    test("delivers matching messages with their topic and exact bytes", async () => {
        const r = recorder()
        await bus.start()
        await bus.subscribe("dev/telemetry", r.handler)
        const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
        client.publish("dev/telemetry", bytes)
        const got = await r.next()
        expect(got.topic).toBe("dev/telemetry")
        expect(Buffer.isBuffer(got.payload)).toBe(true)
        expect(got.payload.equals(bytes)).toBe(true)
    })

    test("a subscription made before start() takes effect on start", async () => {
        const r = recorder()
        await bus.subscribe("early/+", r.handler)
        await bus.start()
        client.publish("early/x", "1")
        expect((await r.next()).topic).toBe("early/x")
    })

    test("wildcards: + is one level, # is the rest; non-matching topics are not delivered", async () => {
        const plus = recorder()
        const hash = recorder()
        await bus.start()
        await bus.subscribe("+/telemetry", plus.handler)
        await bus.subscribe("site/#", hash.handler)
        for (const topic of ["a/b/telemetry", "a/commands", "telemetry", "a/telemetry", "site", "site/x/y", "other/x"])
            client.publish(topic, topic)
        // One connection keeps its order, so by the last expected message the others have been routed.
        expect((await plus.next()).topic).toBe("a/telemetry")
        expect((await hash.next()).topic).toBe("site")
        expect((await hash.next()).topic).toBe("site/x/y")
        expect(plus.received.map(m => m.topic)).toEqual(["a/telemetry"])
        expect(hash.received.map(m => m.topic)).toEqual(["site", "site/x/y"])
    })

    test("a subscription added later also gets a topic the bus has already delivered", async () => {
        const first = recorder()
        const later = recorder()
        await bus.start()
        await bus.subscribe("+/telemetry", first.handler)
        client.publish("d1/telemetry", "1")
        expect((await first.next()).payload.toString()).toBe("1")
        await bus.subscribe("d1/#", later.handler)
        client.publish("d1/telemetry", "2")
        expect((await first.next()).payload.toString()).toBe("2")
        expect((await later.next()).payload.toString()).toBe("2")
    })

    test("# does not match broker-internal $SYS topics", async () => {
        const r = recorder()
        await bus.start()
        await bus.subscribe("#", r.handler)
        // aedes publishes $SYS/<id>/new/clients when a client connects.
        const other = await connectClient(broker.url)
        try {
            other.publish("after/connect", "x")
            expect((await r.next()).topic).toBe("after/connect")
            expect(r.received.filter(m => m.topic.startsWith("$"))).toEqual([])
        } finally {
            await closeClient(other)
        }
    })

    test("publish reaches subscribers, QoS 0 and not retained", async () => {
        await bus.start()
        const inbox = await Inbox.open(client, "dev/commands")
        await bus.publish("dev/commands", '{"led_on":true}')
        const message = await inbox.next()
        expect(message).toEqual({ topic: "dev/commands", payload: '{"led_on":true}', qos: 0, retain: false })
    })

    test("publish with retain and QoS 1: a client that subscribes afterwards gets it, retained, QoS 1", async () => {
        await bus.start()
        await bus.publish("late/commands", '{"led_on":true,"seq":7}', { qos: 1, retain: true })
        // a live subscriber sees the message with the retain flag cleared (MQTT 3.3.1.3)
        const live = await Inbox.open(client, "live/commands")
        await bus.publish("live/commands", "x", { qos: 1, retain: true })
        expect(await live.next()).toMatchObject({ payload: "x", retain: false })

        const late = await connectClient(broker.url)
        try {
            const got = new Promise<{ payload: string; retain: boolean; qos: number }>(resolve =>
                late.on("message", (_, payload, packet) =>
                    resolve({ payload: payload.toString(), retain: packet.retain, qos: packet.qos })
                )
            )
            await late.subscribeAsync("late/commands", { qos: 1 })
            expect(await within(5000, "the retained message", got)).toEqual({
                payload: '{"led_on":true,"seq":7}',
                retain: true,
                qos: 1,
            })
        } finally {
            await closeClient(late)
        }
    })

    test("a QoS 1 message and a QoS 0 one right after it both reach a client subscribed to both", async () => {
        // (aedes drops a packet numbered below one it already sent to that client; EmbeddedBus must not
        // let the quicker QoS 0 packet overtake the QoS 1 one)
        await bus.start()
        const inbox = await Inbox.open(client, "both/#")
        await client.subscribeAsync("both/commands", { qos: 1 })
        const sent = [
            bus.publish("both/commands", "c1", { qos: 1, retain: true }),
            bus.publish("both/acks", "a1", { retain: true }),
            bus.publish("both/commands", "c2", { qos: 1, retain: true }),
            bus.publish("both/acks", "a2", { retain: true }),
        ]
        await Promise.all(sent)
        const got: string[] = []
        for (let i = 0; i < 4; i++) got.push((await inbox.next()).payload)
        // MQTT keeps the order within a topic, not across topics of different QoS
        expect(got.filter(p => p.startsWith("c"))).toEqual(["c1", "c2"])
        expect(got.filter(p => p.startsWith("a"))).toEqual(["a1", "a2"])
    })

    test("a subscription also delivers the retained messages matching it, before start and after", async () => {
        await client.publishAsync("kept/a", "1", { retain: true, qos: 1 })
        await client.publishAsync("kept/b", "2", { retain: true, qos: 1 })
        await client.publishAsync("other/a", "3", { retain: true, qos: 1 })
        const early = recorder()
        await bus.subscribe("kept/+", early.handler)
        await bus.start()
        const got = [await early.next(), await early.next()].map(m => `${m.topic}=${m.payload}`)
        expect(got.sort()).toEqual(["kept/a=1", "kept/b=2"])
        const later = recorder()
        await bus.subscribe("+/a", later.handler)
        const more = [await later.next(), await later.next()].map(m => `${m.topic}=${m.payload}`)
        expect(more.sort()).toEqual(["kept/a=1", "other/a=3"])
        // (Through a broker, "kept/+" may get kept/a again: MQTT does not say which of a client's
        // overlapping subscriptions a message is for. Handlers take repeats in their stride.)
    })

    test("a throwing handler is logged and does not stop later deliveries", async () => {
        const r = recorder()
        await bus.start()
        await bus.subscribe("boom", () => {
            throw new Error("handler bug")
        })
        await bus.subscribe("boom", r.handler)
        client.publish("boom", "1")
        client.publish("boom", "2")
        expect((await r.next()).payload.toString()).toBe("1")
        expect((await r.next()).payload.toString()).toBe("2")
        expect(lines.join("")).toContain("handler bug")
    })

    test("invalid topics and filters are refused, not sent", async () => {
        await bus.start()
        await expect(bus.subscribe("a/#/b", () => undefined)).rejects.toThrow(/invalid topic filter/)
        await expect(bus.subscribe("", () => undefined)).rejects.toThrow(/invalid topic filter/)
        await expect(bus.publish("a/+/commands", "x")).rejects.toThrow(/invalid topic/)
        await expect(bus.publish("", "x")).rejects.toThrow(/invalid topic/)
        // Still usable afterwards.
        const inbox = await Inbox.open(client, "ok")
        await bus.publish("ok", "fine")
        expect((await inbox.next()).payload).toBe("fine")
    })

    test("publish before start is refused; stop is idempotent and ends deliveries", async () => {
        await expect(bus.publish("x", "y")).rejects.toThrow(/not started/)
        const r = recorder()
        await bus.subscribe("x", r.handler)
        await bus.start()
        client.publish("x", "1")
        await r.next()
        await bus.stop()
        await bus.stop()
        // A separate subscriber proves the message was routed; the stopped bus must not see it.
        const inbox = await Inbox.open(client, "x")
        client.publish("x", "2")
        await inbox.next()
        expect(r.received).toHaveLength(1)
    })
})

describe("topic helpers", () => {
    test("topicMatches follows MQTT 4.7", () => {
        expect(topicMatches("+/telemetry", "a/telemetry")).toBe(true)
        expect(topicMatches("+/telemetry", "/telemetry")).toBe(true)
        expect(topicMatches("+/telemetry", "a/b/telemetry")).toBe(false)
        expect(topicMatches("a/#", "a")).toBe(true)
        expect(topicMatches("#", "$SYS/x")).toBe(false)
        expect(topicMatches("$SYS/#", "$SYS/x")).toBe(true)
    })
    test("isValidTopicFilter", () => {
        for (const f of ["#", "+", "a/+/b", "a/#", "+/telemetry"]) expect(isValidTopicFilter(f)).toBe(true)
        for (const f of ["", "a#", "a/#/b", "a+/b", "a/b+"]) expect(isValidTopicFilter(f)).toBe(false)
    })
})

describe("EmbeddedBus", () => {
    let broker: EmbeddedBroker
    let bus: EmbeddedBus
    let client: MqttClient

    beforeEach(async () => {
        broker = new EmbeddedBroker({ host: HOST, port: 0, logger })
        await broker.start()
        bus = new EmbeddedBus(broker, logger)
        client = await connectClient(broker.url)
    })
    afterEach(async () => {
        await closeClient(client)
        await bus.stop()
        await broker.stop()
    })

    test("a batch of acks, a command amid them and plain messages all reach a client, each kind in order", async () => {
        // publications of one kind in a row go in the same turn: none may be lost (aedes drops a packet
        // numbered below one it sent that client). Not a contract: aedes itself loses some when one
        // client (MqttClientBus) sends QoS 0 right after QoS 1, which is why EmbeddedBus paces them.
        await bus.start()
        const inbox = await Inbox.open(client, "batch/#")
        await client.subscribeAsync("batch/commands", { qos: 1 })
        const publish = (kind: string, n: number) =>
            kind === "commands"
                ? bus.publish("batch/commands", `c${n}`, { qos: 1, retain: true })
                : bus.publish(`batch/${kind}/${n % 3}`, `${kind[0]}${n}`, { retain: kind === "acks" })
        const sent: Promise<void>[] = []
        for (let n = 0; n < 30; n++) sent.push(publish(n % 10 === 5 ? "commands" : n % 4 === 0 ? "plain" : "acks", n))
        await Promise.all(sent)
        const got: string[] = []
        for (let i = 0; i < 30; i++) got.push((await inbox.next()).payload)
        const inOrder = (prefix: string) => got.filter(p => p.startsWith(prefix))
        const expected = (prefix: string) =>
            sent.map((_, n) => n).filter(n => inOrder(prefix).includes(`${prefix}${n}`))
        for (const prefix of ["a", "c", "p"])
            expect(inOrder(prefix)).toEqual(expected(prefix).map(n => `${prefix}${n}`))
        expect(new Set(got).size).toBe(30)
    })

    test("a backlog of thousands (an overload): every publication goes out, in order, each promise settled", async () => {
        await bus.start()
        const inbox = await Inbox.open(client, "backlog/#")
        await client.subscribeAsync("backlog/commands", { qos: 1 })
        const total = 5000 // past the point where the queue drops what it sent (1024), more than once
        const sent: Promise<void>[] = []
        for (let n = 0; n < total; n++)
            sent.push(
                n % 1000 === 999
                    ? bus.publish("backlog/commands", `c${n}`, { qos: 1 })
                    : bus.publish(`backlog/acks/${n % 7}`, `a${n}`)
            )
        await Promise.all(sent)
        const got: string[] = []
        for (let i = 0; i < total; i++) got.push((await inbox.next()).payload)
        expect(got.filter(p => p.startsWith("a")).map(p => Number(p.slice(1)))).toEqual(
            Array.from({ length: total }, (_, n) => n).filter(n => n % 1000 !== 999)
        )
        expect(got.filter(p => p.startsWith("c"))).toEqual(["c999", "c1999", "c2999", "c3999", "c4999"])
    })

    test("commands to many devices in a row share a turn: a client subscribed to all gets each, in order", async () => {
        // a dashboard or Home Assistant on +/commands: one command dropped by aedes' dedupe would be a
        // device shown in the wrong state until its next command
        await bus.start()
        const inbox = await Inbox.open(client, "#")
        await client.subscribeAsync("+/commands", { qos: 1 })
        const sent: Promise<void>[] = []
        for (let n = 0; n < 300; n++) {
            sent.push(bus.publish(`d${n}/commands`, `c${n}`, { qos: 1, retain: true }))
            if (n % 50 === 49) sent.push(bus.publish(`d${n}/acks`, `a${n}`, { retain: true }))
        }
        await Promise.all(sent)
        const got: string[] = []
        for (let i = 0; i < sent.length; i++) got.push((await inbox.next()).payload)
        expect(got.filter(p => p.startsWith("c"))).toEqual(Array.from({ length: 300 }, (_, n) => `c${n}`))
        expect(got.filter(p => p.startsWith("a"))).toEqual(["a49", "a99", "a149", "a199", "a249", "a299"])
    })

    test("its own publications do not come back to its subscriptions live; retained ones do from the store", async () => {
        const heard: string[] = []
        await bus.subscribe("+/acks", (topic, payload) => heard.push(`${topic} ${payload}`))
        await bus.start()
        const inbox = await Inbox.open(client, "+/acks")
        await bus.publish("dev/acks", "1", { retain: true })
        expect(await inbox.next()).toMatchObject({ topic: "dev/acks", payload: "1" })
        client.publish("other/acks", "2") // another publisher's: heard
        await until("the bus to hear the other publisher", () => heard.length > 0)
        expect(heard).toEqual(["other/acks 2"])

        // a subscriber started again on the same broker rebuilds from the retained one
        const again = new EmbeddedBus(broker, logger)
        const rebuilt: string[] = []
        await again.subscribe("+/acks", (topic, payload) => rebuilt.push(`${topic} ${payload}`))
        await again.start()
        expect(rebuilt).toEqual(["dev/acks 1"])
        await again.stop()
    })
})
