/**
 * Acks (README "Wire protocol"), throttled per device and batched after one write of the store; the
 * throttle's repeat of an ack already sent is skipped unless the device sent a reading again.
 */
import type { ServerStats } from "./events"
import type { LinkState } from "../device/reading-link"
import type { Logger } from "../util/logger"
import type { MessageBus, PublishOptions } from "../mqtt/message-bus"
import { encode, topics, type AckPayload } from "../protocol/contract"
import { KeyedThrottle } from "../util/throttle"
import type { Timers } from "../util/clock"

/**
 * ms per device at least; acks are cumulative, so one covers every reading since the last. A device whose
 * config leaves room gets them less often (ackIntervalFor), up to ACK_MAX_INTERVAL_MS.
 */
export const ACK_INTERVAL_MS = 1000

/** Well below the firmware's first resend (RESEND_MIN_MS in src/link-state.ts, 10 s). */
export const ACK_MAX_INTERVAL_MS = 4000

/**
 * One store write per batch, whose commit costs the same for 1 ack or 50; a full batch goes next turn, so a
 * long ack queue cannot hold back commands (bench/README.md "What each change bought").
 */
export const ACK_BATCH = {
    windowMs: 20, // ms an ack may wait for others
    maxAcks: 50, // devices; at this many the batch goes at once
}

/** Retained so a restarted server knows where each device was; QoS 0, as the next ack supersedes it. */
const ACK_DELIVERY: PublishOptions = { qos: 0, retain: true }

export interface AckSenderOptions {
    bus: MessageBus
    log: Logger
    timers: Timers
    /** ms between two acks to this device. */
    intervalOf: (deviceId: string) => number
    current: (deviceId: string) => { ack: AckPayload; link: LinkState } | undefined
    beforeAcks: (links: ReadonlyMap<string, LinkState>) => void
    /** True while beforeAcks would stop the server (the store's WAL is being reset): the batch waits a window. */
    storeBusy?: () => boolean
    counters: Pick<ServerStats, "acksSent" | "acksFailed">
}

export class AckSender {
    private readonly throttle: KeyedThrottle
    private readonly ackQueue = new Set<string>()
    /** Changed in place: an object per ack would reach V8's old generation, whose GCs stall under load. */
    private readonly lastAck = new Map<string, AckPayload>()
    private readonly ackTopics = new Map<string, string>()
    /** Devices whose latest reading due for an ack was a duplicate (the throttle runs the latest call). */
    private readonly dueAgain = new Set<string>()
    /** Devices in the queue that sent a duplicate: their ack goes out even if it is the last one again. */
    private readonly ackAgain = new Set<string>()
    private readonly queueDue = (deviceId: string) => this.queue(deviceId, this.dueAgain.delete(deviceId))
    private ackTimer: unknown
    private running = true
    private readonly finalAcks: Promise<void>[] = []

    constructor(private readonly o: AckSenderOptions) {
        this.throttle = new KeyedThrottle(ACK_INTERVAL_MS, o.timers)
    }

    async stop(): Promise<void> {
        this.running = false
        this.throttle.flush()
        this.sendQueuedAcks()
        await Promise.all(this.finalAcks.splice(0))
        this.running = true
    }

    /** `again`: a duplicate. */
    due(deviceId: string, again: boolean): void {
        if (again) this.dueAgain.add(deviceId)
        else if (this.dueAgain.size > 0) this.dueAgain.delete(deviceId)
        this.throttle.run(deviceId, this.queueDue, this.o.intervalOf(deviceId))
    }

    /**
     * A peer's ack reached readings this server holds (docs/scale-out.md): ack next turn, past throttle
     * and batch, so each hop costs a round trip, not ACK_INTERVAL_MS.
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
        if (this.running && this.ackQueue.size > 0 && this.o.storeBusy?.()) {
            // Nothing is acknowledged unstored: the queue waits, and keeps growing, until the store is free.
            this.ackTimer = this.o.timers.setTimeout(() => this.sendQueuedAcks(), ACK_BATCH.windowMs)
            return
        }
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
