/**
 * Acks (README "Wire protocol"): at most one per device per ACK_INTERVAL_MS (the last one always goes
 * out); acks due close together go out together after one write of the store (an ack promises the
 * readings are stored); the throttle's repeat of an ack already sent is skipped, unless the device sent
 * a reading again (it missed the ack).
 */
import type { ServerStats } from "./events"
import type { LinkState } from "../device/reading-link"
import type { Logger } from "../util/logger"
import type { MessageBus, PublishOptions } from "../mqtt/message-bus"
import { encode, topics, type AckPayload } from "../protocol/contract"
import { KeyedThrottle } from "../util/throttle"
import type { Timers } from "../util/clock"

/**
 * At most one ack per device per this many ms; the last one always goes out. Acks are cumulative, so
 * a device reporting every 2 s is acknowledged at once, and a faster one (a replay, an overloaded
 * fleet) gets one ack for several readings: under overload, what keeps the server up. Well below the
 * firmware's 5 s before it resends unacknowledged readings (src/link-state.ts).
 */
export const ACK_INTERVAL_MS = 1000

/**
 * Acks due close together go out together, after one write of the store: cheaper than a transaction
 * per reading. A full batch goes on the next turn, as our publishes enter the broker one turn apart
 * (mqtt/embedded-bus.ts) and a long queue of acks would hold back the commands behind it.
 */
export const ACK_BATCH = {
    windowMs: 20, // ms an ack may wait for others
    maxAcks: 25, // devices; at this many the batch goes at once
}

/** Retained so a restarted server knows where each device was; QoS 0, as the next ack supersedes it. */
const ACK_DELIVERY: PublishOptions = { qos: 0, retain: true }

export interface AckSenderOptions {
    bus: MessageBus
    log: Logger
    timers: Timers
    /** Default ACK_INTERVAL_MS. */
    intervalMs?: number
    /** The ack for a device now and where its link stands; undefined: nothing to acknowledge. */
    current: (deviceId: string) => { ack: AckPayload; link: LinkState } | undefined
    /** Stores what the acks promise; throwing holds them back. */
    beforeAcks: (links: ReadonlyMap<string, LinkState>) => void
    counters: Pick<ServerStats, "acksSent" | "acksFailed">
}

export class AckSender {
    private readonly throttle: KeyedThrottle
    /** Devices whose ack is due in this batch. */
    private readonly ackQueue = new Set<string>()
    /**
     * The last ack published to each device, changed in place: the throttle's trailing run often repeats
     * it. Made once, like everything kept per device: an object made per ack would live long enough to
     * reach V8's old generation, whose collections stall the server under load.
     */
    private readonly lastAck = new Map<string, AckPayload>()
    /** `<id>/acks` of each device acknowledged, made once. */
    private readonly ackTopics = new Map<string, string>()
    /** Devices whose latest reading due for an ack was a duplicate (the throttle runs the latest call). */
    private readonly dueAgain = new Set<string>()
    /** Devices in the queue that sent a duplicate: their ack goes out even if it is the last one again. */
    private readonly ackAgain = new Set<string>()
    /** The throttle's call for every device (one function, not one per reading). */
    private readonly queueDue = (deviceId: string) => this.queue(deviceId, this.dueAgain.delete(deviceId))
    private ackTimer: unknown
    private running = true
    /** Acks sent by stop(), awaited there so they reach the broker before the bus stops. */
    private readonly finalAcks: Promise<void>[] = []

    constructor(private readonly o: AckSenderOptions) {
        this.throttle = new KeyedThrottle(o.intervalMs ?? ACK_INTERVAL_MS, o.timers)
    }

    /** Sends what is waiting, at once, and waits for the broker to take it. */
    async stop(): Promise<void> {
        this.running = false
        this.throttle.flush()
        this.sendQueuedAcks()
        await Promise.all(this.finalAcks.splice(0))
        this.running = true
    }

    /** A reading of `deviceId` is to be acknowledged; `again`: it was a duplicate. */
    due(deviceId: string, again: boolean): void {
        if (again) this.dueAgain.add(deviceId)
        else if (this.dueAgain.size > 0) this.dueAgain.delete(deviceId)
        this.throttle.run(deviceId, this.queueDue)
    }

    /**
     * Another server of a share group acknowledged readings up to just before some this server holds
     * (docs/scale-out.md): this server's ack goes on the next turn, past the throttle and the batch
     * window, so each hop of the acks between servers costs a broker round trip, not ACK_INTERVAL_MS,
     * and a replay is covered before the device's 5 s resend.
     */
    dueAfterPeer(deviceId: string): void {
        this.ackQueue.add(deviceId)
        if (!this.running) return this.sendQueuedAcks()
        this.sendNextTurn()
    }

    private sendNextTurn(): void {
        this.o.timers.clearTimeout(this.ackTimer)
        this.ackTimer = this.o.timers.setTimeout(() => this.sendQueuedAcks(), 0)
    }

    /** Queues the ack of `deviceId` for the batch (ACK_BATCH); while stopping, it goes at once. */
    private queue(deviceId: string, again: boolean): void {
        // A device that sends a reading again missed its ack: it gets the ack even if it is the same.
        if (again) this.ackAgain.add(deviceId)
        this.ackQueue.add(deviceId)
        if (!this.running) return this.sendQueuedAcks()
        if (this.ackQueue.size === ACK_BATCH.maxAcks) this.sendNextTurn()
        else this.ackTimer ??= this.o.timers.setTimeout(() => this.sendQueuedAcks(), ACK_BATCH.windowMs)
    }

    private sendQueuedAcks(): void {
        this.o.timers.clearTimeout(this.ackTimer)
        this.ackTimer = undefined
        const links = new Map<string, LinkState>()
        const acks: { deviceId: string; ack: AckPayload }[] = []
        for (const deviceId of this.ackQueue) {
            const current = this.o.current(deviceId)
            if (!current) continue
            const { ack, link } = current
            const last = this.lastAck.get(deviceId)
            if (!this.ackAgain.has(deviceId) && last?.boot === ack.boot && last.seq === ack.seq) continue
            links.set(deviceId, link)
            acks.push({ deviceId, ack })
        }
        this.ackQueue.clear()
        this.ackAgain.clear()
        if (links.size === 0) return
        try {
            this.o.beforeAcks(links)
        } catch (err) {
            // Not stored, so not acknowledged: the devices keep the readings and send them again.
            this.o.counters.acksFailed += links.size
            this.o.log.error(`could not store readings, so they are not acknowledged: ${(err as Error).message}`)
            return
        }
        for (const { deviceId, ack } of acks) {
            this.remember(deviceId, ack)
            const sent = this.o.bus.publish(this.ackTopic(deviceId), encode("acks", ack), ACK_DELIVERY).then(
                () => void this.o.counters.acksSent++,
                (err: Error) => {
                    this.o.counters.acksFailed++
                    this.lastAck.delete(deviceId)
                    // The device sends unacknowledged readings again, and those are acknowledged then.
                    this.o.log.debug(`could not send the ack to ${deviceId}: ${err.message}`)
                }
            )
            if (!this.running) this.finalAcks.push(sent)
        }
    }

    /** Keeps `ack` as the last one sent to `deviceId`, in the object already kept for it. */
    private remember(deviceId: string, ack: AckPayload): void {
        const last = this.lastAck.get(deviceId)
        if (!last) return void this.lastAck.set(deviceId, { boot: ack.boot, seq: ack.seq })
        if (last.boot !== ack.boot) last.boot = ack.boot
        last.seq = ack.seq
    }

    private ackTopic(deviceId: string): string {
        let topic = this.ackTopics.get(deviceId)
        if (topic === undefined) {
            topic = topics.acks(deviceId)
            this.ackTopics.set(deviceId, topic)
        }
        return topic
    }
}
