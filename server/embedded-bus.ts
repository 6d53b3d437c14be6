/**
 * The message bus inside the embedded aedes broker: subscriptions are aedes' in-process listeners and
 * publishes go straight into its router. No socket, no MQTT encoding; measured at about half the CPU of
 * a loopback client (DESIGN.md §6).
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
} from "./message-bus"

type Deliver = (packet: AedesPublishPacket, done: () => void) => void

interface Subscription {
    filter: string
    deliver: Deliver
}

export class EmbeddedBus implements MessageBus {
    private readonly broker: EmbeddedBroker
    private readonly log: Logger
    private readonly subscriptions: Subscription[] = []
    private started = false

    constructor(broker: EmbeddedBroker, logger: Logger) {
        this.broker = broker
        this.log = logger.child({ component: "bus" })
    }

    async start(): Promise<void> {
        if (this.started) return
        this.started = true
        await Promise.all(this.subscriptions.map(s => this.listen(s)))
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
        // A leading wildcard must not match broker-internal `$SYS/...` topics (MQTT 4.7.2); aedes'
        // in-process router does not apply that rule for us.
        const skipDollar = filter.startsWith("+") || filter.startsWith("#")
        const deliver: Deliver = (packet, done) => {
            if (!(skipDollar && packet.topic.startsWith("$")))
                callHandler(handler, packet.topic, toBuffer(packet.payload), this.log)
            // Completing synchronously recursed through aedes' router and overflowed the stack under
            // load (DESIGN.md §6); aedes defers its own deliveries the same way.
            setImmediate(done)
        }
        const subscription = { filter, deliver }
        this.subscriptions.push(subscription)
        if (this.started) await this.listen(subscription)
    }

    publish(topic: string, payload: string | Buffer): Promise<void> {
        if (!isValidTopicName(topic)) return Promise.reject(new TypeError(`invalid topic ${JSON.stringify(topic)}`))
        if (!this.started) return Promise.reject(new Error("the message bus is not started"))
        const packet = {
            cmd: "publish" as const,
            topic,
            payload: toBuffer(payload),
            qos: 0 as const,
            retain: false,
            dup: false,
        }
        return new Promise((resolve, reject) =>
            this.broker.aedes.publish(packet, err => (err ? reject(err) : resolve()))
        )
    }

    private listen(s: Subscription): Promise<void> {
        return new Promise(resolve => this.broker.aedes.subscribe(s.filter, s.deliver, () => resolve()))
    }
}
