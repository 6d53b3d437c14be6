/**
 * The message bus inside the embedded aedes broker: subscriptions are aedes' in-process listeners and
 * publishes go straight into its router. No socket, no MQTT encoding; measured at about half the CPU of
 * a loopback client (DESIGN.md §6). In-process listeners get no retained messages from aedes, so
 * subscribing reads them from aedes' store itself, as the broker does for a client's SUBSCRIBE.
 */
import type { AedesPublishPacket } from "aedes"
import type { EmbeddedBroker } from "./embedded-broker"
import type { Logger } from "./logger"
import {
    callHandler,
    isValidTopicFilter,
    isValidTopicName,
    toBuffer,
    type MessageBus,
    type MessageHandler,
    type PublishOptions,
} from "./message-bus"

type Deliver = (packet: AedesPublishPacket, done: () => void) => void

interface Subscription {
    filter: string
    handler: MessageHandler
    deliver: Deliver
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
     * Our publications enter aedes one event-loop turn apart. aedes numbers each packet when it is
     * published and drops, per client, a packet numbered below one it already sent (its cluster
     * "dedupe"); a QoS 1 packet spends longer in its pipeline (offline queues) than a QoS 0 one, so an
     * ack published right after a command overtook it and a device subscribed to both never got the
     * command. With the in-memory persistence those steps end within the turn; waiting for delivery
     * instead would let one client with a full socket stall every device.
     */
    private turn: Promise<void> = Promise.resolve()

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
        await Promise.all(
            this.subscriptions.map(
                s => new Promise<void>(resolve => aedes.unsubscribe(s.filter, s.deliver, () => resolve()))
            )
        )
    }

    async subscribe(filter: string, handler: MessageHandler): Promise<void> {
        if (!isValidTopicFilter(filter)) throw new TypeError(`invalid topic filter ${JSON.stringify(filter)}`)
        const skipDollar = hasLeadingWildcard(filter)
        const deliver: Deliver = (packet, done) => {
            if (!(skipDollar && packet.topic.startsWith("$")))
                callHandler(handler, packet.topic, toBuffer(packet.payload), this.log)
            // Completing synchronously recursed through aedes' router and overflowed the stack under
            // load (DESIGN.md §6); aedes defers its own deliveries the same way.
            setImmediate(done)
        }
        const subscription = { filter, handler, deliver }
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
            payload: toBuffer(payload),
            qos: options.qos ?? 0,
            retain: options.retain ?? false,
            dup: false,
        }
        return new Promise<void>((resolve, reject) => {
            this.turn = this.turn.then(() => {
                try {
                    this.broker.aedes.publish(packet, err => (err ? reject(err) : resolve()))
                } catch (err) {
                    reject(err as Error) // the broker stopped meanwhile; the next publish gets its turn all the same
                }
                return new Promise<void>(next => setImmediate(next))
            })
        })
    }

    private async listen(s: Subscription): Promise<void> {
        const aedes = this.broker.aedes
        await new Promise<void>(resolve => aedes.subscribe(s.filter, s.deliver, () => resolve()))
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

/**
 * A leading wildcard must not match broker-internal `$SYS/...` topics (MQTT 4.7.2); aedes' in-process
 * router and its retained store do not apply that rule for us.
 */
function hasLeadingWildcard(filter: string): boolean {
    return filter.startsWith("+") || filter.startsWith("#")
}
