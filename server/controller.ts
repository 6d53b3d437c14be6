/**
 * The lesson's server logic, hardened: every `<id>/telemetry` reading is validated, the LED decision is
 * the pure rule from protocol.ts, and the answer goes to that device's own `<id>/commands`. Bad input is
 * counted and logged once, never thrown: one broken device must not stop the others being served.
 */
import { EventEmitter } from "node:events"
import { printable, type Logger } from "./logger"
import type { MessageBus } from "./message-bus"
import { DEFAULT_THRESHOLD, decideLed, encode, parseTelemetry, parseTopic, topics, type RejectReason } from "./protocol"

/** Why a telemetry message was dropped: the payload reasons from protocol.ts, plus a bad topic. */
export type RejectionReason = RejectReason | "bad_topic"
export const REJECTION_REASONS: readonly RejectionReason[] = [
    "bad_topic",
    "too_large",
    "not_json",
    "not_object",
    "bad_field",
]

export interface ServerStats {
    /** Telemetry messages seen, valid or not. */
    received: number
    /** Commands handed to the broker. */
    commandsSent: number
    /** Commands the broker connection could not take (e.g. during an outage). */
    commandsFailed: number
    rejected: Record<RejectionReason, number>
}

export interface TelemetryEvent {
    deviceId: string
    light: number
    ledOn: boolean
}
export interface RejectionEvent {
    topic: string
    reason: RejectionReason
    detail: string
}

export interface NightlightServerOptions {
    bus: MessageBus
    logger: Logger
    /** Light units; LED on below it. */
    threshold?: number
}

/** Emits "telemetry" (TelemetryEvent) for each valid reading and "rejected" (RejectionEvent) for each bad one. */
export class NightlightServer extends EventEmitter {
    private readonly bus: MessageBus
    private readonly log: Logger
    readonly threshold: number
    private running = false
    private readonly counters: ServerStats = {
        received: 0,
        commandsSent: 0,
        commandsFailed: 0,
        rejected: Object.fromEntries(REJECTION_REASONS.map(r => [r, 0])) as Record<RejectionReason, number>,
    }

    constructor(options: NightlightServerOptions) {
        super()
        this.bus = options.bus
        this.log = options.logger
        this.threshold = options.threshold ?? DEFAULT_THRESHOLD
    }

    /** Subscribes to every device's telemetry. The bus must be started by its owner. */
    async start(): Promise<void> {
        if (this.running) return
        this.running = true
        await this.bus.subscribe(topics.allTelemetry, (topic, payload) => this.onTelemetry(topic, payload))
        this.log.info(`listening for telemetry on ${topics.allTelemetry}; LED on when light < ${this.threshold}`)
    }

    /** Stops answering. (The bus owner stops the bus, which drops the subscription.) */
    async stop(): Promise<void> {
        this.running = false
    }

    stats(): ServerStats {
        return { ...this.counters, rejected: { ...this.counters.rejected } }
    }

    private onTelemetry(topic: string, payload: Buffer): void {
        if (!this.running) return
        this.counters.received++
        const where = parseTopic(topic)
        if (!where || where.kind !== "telemetry") {
            this.reject(topic, "bad_topic", "expected <id>/telemetry with an id of 1-64 letters, digits or _ . : -")
            return
        }
        const parsed = parseTelemetry(payload)
        if (!parsed.ok) {
            this.reject(topic, parsed.reason, parsed.detail)
            return
        }
        const { deviceId } = where
        const { light } = parsed.value
        this.log.info(`Message received: ${printable(payload.toString("utf8"))} from ${deviceId}`)

        const ledOn = decideLed(light, this.threshold)
        const command = encode("commands", { led_on: ledOn })
        this.emit("telemetry", { deviceId, light, ledOn } satisfies TelemetryEvent)
        this.log.info(`Sending message: ${command} to ${deviceId}`)
        this.bus.publish(topics.commands(deviceId), command).then(
            () => this.counters.commandsSent++,
            (err: Error) => {
                this.counters.commandsFailed++
                this.log.warn(`could not send the command to ${deviceId}: ${err.message}`)
            }
        )
    }

    private reject(topic: string, reason: RejectionReason, detail: string): void {
        this.counters.rejected[reason]++
        this.log.warn(`Rejected telemetry on ${JSON.stringify(printable(topic, 100))}: ${reason}: ${printable(detail)}`)
        this.emit("rejected", { topic, reason, detail } satisfies RejectionEvent)
    }
}
