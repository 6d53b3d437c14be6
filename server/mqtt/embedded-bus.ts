/**
 * The message bus inside aedes, no socket (cheaper than a loopback client; bench/README.md). aedes gives
 * in-process listeners no retained messages, so subscribing reads its store. Own publications do not
 * come back live (as MQTT 5's No Local); retained ones still do, to rebuild after a restart.
 */
import type { AedesPublishPacket, PublishPacket } from "aedes"
import type { Deliver, DirectHandler, EmbeddedBroker } from "./embedded-broker"
import type { Logger } from "../util/logger"
import {
    callHandler,
    isValidTopicFilter,
    isValidTopicName,
    toBuffer,
    type MessageBus,
    type MessageHandler,
    type PublishOptions,
} from "./message-bus"

interface Subscription {
    filter: string
    handler: MessageHandler
    deliver: Deliver
    direct: DirectHandler
}

/** Marks the payloads this bus publishes: aedes hands the same Buffer to the subscriptions it reaches. */
const OWN = Symbol("nightlight.embeddedBus.own")
type Marked = Buffer & { [OWN]?: true }

interface Outgoing {
    packet: PublishPacket
    resolve: () => void
    reject: (err: Error) => void
}

/** The part of aedes' persistence we read; aedes' typings declare the property as `any`. */
interface RetainedStore {
    createRetainedStream(filter: string): AsyncIterable<AedesPublishPacket>
}

export class EmbeddedBus implements MessageBus {
    private readonly broker: EmbeddedBroker
    private readonly log: Logger
    private readonly subscriptions: Subscription[] = []
    private started = false
    /**
     * Our publications enter aedes a kind per turn: aedes drops, per client, a packet numbered below one
     * it sent ("dedupe"), and a QoS 1 command is slower in its pipeline, so an ack right after it made
     * the device lose the command. Publications of one kind take the same steps, so they keep their
     * order and share a turn: a turn per command held commands back under load (bench/README.md).
     */
    private outbox: Outgoing[] = []
    /** By index, not shift(): shifting tens of thousands of queued acks took a third of the CPU. */
    private head = 0
    private sending = false
    private readonly nextTurn = () => this.sendTurn()

    constructor(broker: EmbeddedBroker, logger: Logger) {
        this.broker = broker
        this.log = logger.child({ component: "bus" })
    }

    async start(): Promise<void> {
        if (this.started) return
        this.started = true
        // In order, each with its retained messages: a subscriber that registers its state topics before
        // its event topics (the controller) has its state rebuilt before the first event.
        for (const s of this.subscriptions) await this.listen(s)
    }

    async stop(): Promise<void> {
        if (!this.started) return
        this.started = false
        let aedes
        try {
            aedes = this.broker.aedes
        } catch {
            return // the broker is already stopped, and its listeners with it
        }
        if (aedes.closed) return
        await Promise.all(this.subscriptions.map(s => this.broker.unsubscribeInProcess(s.filter, s.deliver)))
    }

    async subscribe(filter: string, handler: MessageHandler): Promise<void> {
        if (!isValidTopicFilter(filter)) throw new TypeError(`invalid topic filter ${JSON.stringify(filter)}`)
        const skipDollar = hasLeadingWildcard(filter)
        const direct: DirectHandler = (topic, payload) => {
            if (!(skipDollar && topic.startsWith("$"))) callHandler(handler, topic, toBuffer(payload), this.log)
        }
        const deliver: Deliver = (packet, done) => {
            if ((packet.payload as Marked)[OWN] !== true) direct(packet.topic, packet.payload as Buffer)
            // Completing synchronously recurses through aedes' router and overflows the stack under
            // load; aedes defers its own deliveries the same way.
            setImmediate(done)
        }
        const subscription = { filter, handler, deliver, direct }
        this.subscriptions.push(subscription)
        if (this.started) await this.listen(subscription)
    }

    publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
        if (!isValidTopicName(topic)) return Promise.reject(new TypeError(`invalid topic ${JSON.stringify(topic)}`))
        if (!this.started) return Promise.reject(new Error("the message bus is not started"))
        // aedes stores a retained packet (storeRetained) before routing it, as for a client's PUBLISH.
        const packet = {
            cmd: "publish" as const,
            topic,
            payload: ownPayload(payload),
            qos: options.qos ?? 0,
            retain: options.retain ?? false,
            dup: false,
        }
        return new Promise<void>((resolve, reject) => {
            this.outbox.push({ packet, resolve, reject })
            if (this.sending) return
            this.sending = true
            // This turn, once the code publishing has returned (not from inside aedes' parser).
            queueMicrotask(this.nextTurn)
        })
    }

    private sendTurn(): void {
        const first = this.take()
        if (!first) {
            this.sending = false
            return
        }
        this.send(first)
        while (this.head < this.outbox.length && sameSteps(first.packet, this.outbox[this.head].packet))
            this.send(this.take()!)
        setImmediate(this.nextTurn)
    }

    private take(): Outgoing | undefined {
        const next = this.outbox[this.head]
        if (next === undefined) {
            this.outbox = []
            this.head = 0
            return undefined
        }
        this.outbox[this.head++] = undefined as unknown as Outgoing // let it be collected
        // Drop what was taken once it is most of the array: each element is copied at most once.
        if (this.head >= 1024 && this.head * 2 >= this.outbox.length) {
            this.outbox = this.outbox.slice(this.head)
            this.head = 0
        }
        return next
    }

    private send({ packet, resolve, reject }: Outgoing): void {
        try {
            this.broker.aedes.publish(packet, err => (err ? reject(err) : resolve()))
        } catch (err) {
            reject(err as Error) // the broker stopped meanwhile; the next publish gets its turn all the same
        }
    }

    private async listen(s: Subscription): Promise<void> {
        const aedes = this.broker.aedes
        await this.broker.subscribeInProcess(s.filter, s.deliver, s.direct)
        // A message published meanwhile may come both live and from the store, as with a real broker.
        const store = (aedes as unknown as { persistence: RetainedStore }).persistence
        const skipDollar = hasLeadingWildcard(s.filter)
        for await (const packet of store.createRetainedStream(s.filter)) {
            if (!this.started) return
            if (skipDollar && packet.topic.startsWith("$")) continue
            callHandler(s.handler, packet.topic, toBuffer(packet.payload), this.log)
        }
    }
}

/** The payload as a Buffer of its own (a caller's Buffer is not marked: a view of it is), marked as ours. */
function ownPayload(payload: string | Buffer): Buffer {
    const buffer: Marked = typeof payload === "string" ? toBuffer(payload) : toBuffer(payload).subarray()
    buffer[OWN] = true
    return buffer
}

/**
 * The same QoS and retain flag: the same steps in aedes' publish (its in-memory persistence awaits as often
 * for every topic), so they keep their order.
 */
function sameSteps(a: PublishPacket, b: PublishPacket): boolean {
    return a.qos === b.qos && a.retain === b.retain
}

/**
 * A leading wildcard must not match broker-internal `$SYS/...` topics (MQTT 4.7.2); aedes' in-process
 * router and its retained store do not apply that rule for us.
 */
function hasLeadingWildcard(filter: string): boolean {
    return filter.startsWith("+") || filter.startsWith("#")
}
