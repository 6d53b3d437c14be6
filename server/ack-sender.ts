/**
 * Acks (README "Wire protocol"): at most one per device per ACK_INTERVAL_MS (the last one always goes
 * out); acks due close together go out together after one write of the store (an ack promises the
 * readings are stored); the throttle's repeat of an ack already sent is skipped, unless the device sent
 * a reading again (it missed the ack).
 */
import type { ServerStats } from "./controller-events"
import type { LinkState } from "./device-state"
import type { Logger } from "./logger"
import type { MessageBus, PublishOptions } from "./message-bus"
import { encode, topics, type AckPayload } from "./protocol"
import { KeyedThrottle, type Timers } from "./throttle"

/**
 * At most one ack per device per this many ms; the last one always goes out. An ack is cumulative, so
 * a device that reports every 2 s still gets each reading acknowledged at once, and one that sends
 * faster (a replay after an outage, a fleet pushed past what the server can take) gets one ack for
 * several readings. Under overload that is what keeps the server up: with 10 000 devices offering
 * 34 000 readings/s it handled 30 000/s at p99 240 ms with 1 s, and 18 000/s at p99 2.3 s with 100 ms
 * (bench), where an ack per reading was most of the work. Well below the firmware's 5 s before it sends
 * unacknowledged readings again (src/link-state.ts).
 */
export const ACK_INTERVAL_MS = 1000

/**
 * Acks due close together go out together, after one write of the store (sendAck): a transaction per
 * reading cost a quarter more CPU per reading at 500 readings/s (bench). A full batch goes on the next
 * turn, as our publishes enter the broker one turn apart (embedded-bus.ts) and a long queue of acks
 * would hold back the commands behind it.
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
    /** The last ack published to each device ("boot/seq"): the throttle's trailing run often repeats it. */
    private readonly lastAck = new Map<string, string>()
    /** Devices in the queue that sent a duplicate: their ack goes out even if it is the last one again. */
    private readonly ackAgain = new Set<string>()
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
        this.throttle.run(deviceId, () => this.queue(deviceId, again))
    }

    /**
     * Another server of a share group acknowledged readings up to just before some this server holds
     * (docs/scale-out.md): this server's ack goes on the next turn, past the throttle and the batch
     * window. With a device's readings spread over the servers, each hop of the acks between them then
     * costs a broker round trip rather than ACK_INTERVAL_MS, and a replay of 600 readings is covered in
     * about a second instead of outlasting the device's 5 s resend.
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

    /**
     * Acks due within ACK_BATCH.windowMs go out together, after one write of the store: one transaction
     * for many readings instead of one each. A full batch goes on the next turn; while stopping, at once.
     */
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
        const batch = new Map<string, { ack: AckPayload; link: LinkState }>()
        for (const deviceId of this.ackQueue) {
            const current = this.o.current(deviceId)
            if (!current) continue
            const { ack, link } = current
            if (!this.ackAgain.has(deviceId) && this.lastAck.get(deviceId) === `${ack.boot}/${ack.seq}`) continue
            batch.set(deviceId, { ack, link })
        }
        this.ackQueue.clear()
        this.ackAgain.clear()
        if (batch.size === 0) return
        try {
            this.o.beforeAcks(new Map([...batch].map(([deviceId, { link }]) => [deviceId, link])))
        } catch (err) {
            // Not stored, so not acknowledged: the devices keep the readings and send them again.
            this.o.counters.acksFailed += batch.size
            this.o.log.error(`could not store readings, so they are not acknowledged: ${(err as Error).message}`)
            return
        }
        for (const [deviceId, { ack }] of batch) {
            this.lastAck.set(deviceId, `${ack.boot}/${ack.seq}`)
            const sent = this.o.bus.publish(topics.acks(deviceId), encode("acks", ack), ACK_DELIVERY).then(
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
}
