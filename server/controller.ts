/**
 * The lesson's server logic over a link that survives outages (README "Wire protocol"). Every
 * `<id>/telemetry` reading is validated, checked for duplicates and gaps, and acknowledged on `<id>/acks`;
 * the LED decision (the threshold with a hysteresis band) goes to `<id>/commands`, retained with QoS 1,
 * only when the device needs it. The rules live in device-state.ts; this class does the I/O. Bad input
 * is counted and logged once, never thrown: one broken device must not stop the others being served.
 *
 * After a restart the state comes back from the broker's retained commands, acks and status. With the
 * embedded broker those die with the process; what then keeps a LED from flipping is the `led` field of
 * the device's readings, taken as the hysteresis state until the server has decided itself.
 */
import { EventEmitter } from "node:events"
import { DeviceState, type CommandReason, type DeviceSnapshot } from "./device-state"
import { printable, type Logger } from "./logger"
import type { MessageBus, PublishOptions } from "./message-bus"
import {
    DEFAULT_BAND,
    DEFAULT_THRESHOLD,
    encode,
    parseAck,
    parseCommand,
    parseStatus,
    parseTelemetry,
    parseTopic,
    topics,
    type CommandPayload,
    type RejectReason,
} from "./protocol"
import { KeyedThrottle, realTimers, type Timers } from "./throttle"

/** Why a telemetry message was dropped: the payload reasons from protocol.ts, plus a bad topic. */
export type RejectionReason = RejectReason | "bad_topic"
export const REJECTION_REASONS: readonly RejectionReason[] = [
    "bad_topic",
    "too_large",
    "not_json",
    "not_object",
    "bad_field",
]

/** At most one ack per device per this many ms; the last one always goes out. */
export const ACK_INTERVAL_MS = 100

const COMMAND_DELIVERY: PublishOptions = { qos: 1, retain: true }
/** Retained so a restarted server knows where each device was; QoS 0, as the next ack supersedes it. */
const ACK_DELIVERY: PublishOptions = { qos: 0, retain: true }

export interface ServerStats {
    /** Telemetry messages seen, valid or not. */
    received: number
    /** Commands handed to the broker. */
    commandsSent: number
    /** Commands the broker connection could not take (e.g. during an outage). */
    commandsFailed: number
    acksSent: number
    acksFailed: number
    rejected: Record<RejectionReason, number>
}

export interface TelemetryEvent {
    deviceId: string
    light: number
    /** The decision after this reading; undefined only for a duplicate that came before any decision. */
    ledOn: boolean | undefined
    /** Seen before: counted and acknowledged, not decided on. */
    duplicate: boolean
    seq?: number
}
export interface CommandEvent {
    deviceId: string
    command: CommandPayload
    reason: CommandReason
}
export interface StatusEvent {
    deviceId: string
    online: boolean
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
    /** Light units; LED off again only from threshold + band up. */
    band?: number
    ackIntervalMs?: number
    /** Minimum ms between commands to a device whose reported LED disagrees (device-state.ts). */
    mismatchResendMs?: number
    /** The clock and timers (tests). */
    timers?: Timers
}

/**
 * Emits "telemetry" (TelemetryEvent) for each valid reading, "command" (CommandEvent) for each command
 * sent, "status" (StatusEvent) when a device goes online or offline, "rejected" (RejectionEvent) for
 * each bad reading.
 */
export class NightlightServer extends EventEmitter {
    private readonly bus: MessageBus
    private readonly log: Logger
    readonly threshold: number
    readonly band: number
    private readonly mismatchResendMs?: number
    private readonly timers: Timers
    private readonly acks: KeyedThrottle
    private readonly devices = new Map<string, DeviceState>()
    /** Acks flushed by stop(), awaited there so they reach the broker before the bus stops. */
    private readonly finalAcks: Promise<void>[] = []
    private running = false
    private readonly counters: ServerStats = {
        received: 0,
        commandsSent: 0,
        commandsFailed: 0,
        acksSent: 0,
        acksFailed: 0,
        rejected: Object.fromEntries(REJECTION_REASONS.map(r => [r, 0])) as Record<RejectionReason, number>,
    }

    constructor(options: NightlightServerOptions) {
        super()
        this.bus = options.bus
        this.log = options.logger
        this.threshold = options.threshold ?? DEFAULT_THRESHOLD
        this.band = options.band ?? DEFAULT_BAND
        this.mismatchResendMs = options.mismatchResendMs
        this.timers = options.timers ?? realTimers
        this.acks = new KeyedThrottle(options.ackIntervalMs ?? ACK_INTERVAL_MS, this.timers)
    }

    /** Subscribes to every device's state and telemetry. The bus must be started by its owner. */
    async start(): Promise<void> {
        if (this.running) return
        this.running = true
        // State topics first: the buses make subscriptions in this order, so the retained state is
        // usually rebuilt before the first reading is decided on (and the handlers cope when it is not).
        await this.bus.subscribe(topics.allCommands, (topic, payload) => this.onCommand(topic, payload))
        await this.bus.subscribe(topics.allAcks, (topic, payload) => this.onAck(topic, payload))
        await this.bus.subscribe(topics.allStatus, (topic, payload) => this.onStatus(topic, payload))
        await this.bus.subscribe(topics.allTelemetry, (topic, payload) => this.onTelemetry(topic, payload))
        this.log.info(
            `listening for telemetry on ${topics.allTelemetry}; LED on when light < ${this.threshold}, ` +
                `off again when light >= ${this.threshold + this.band}`
        )
    }

    /** Stops answering; acks still waiting go out first. (The bus owner stops the bus.) */
    async stop(): Promise<void> {
        if (!this.running) return
        this.running = false
        this.acks.flush()
        await Promise.all(this.finalAcks.splice(0))
    }

    stats(): ServerStats {
        return { ...this.counters, rejected: { ...this.counters.rejected } }
    }

    /** What the server knows about one device, or undefined if it never heard of it. */
    device(deviceId: string): DeviceSnapshot | undefined {
        return this.devices.get(deviceId)?.snapshot()
    }

    deviceIds(): string[] {
        return [...this.devices.keys()]
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
        const reading = parsed.value
        const outcome = this.stateOf(deviceId).reading(reading, this.timers.now())
        const text = printable(payload.toString("utf8"))
        if (outcome.duplicate) this.log.debug(`Message received again (a duplicate): ${text} from ${deviceId}`)
        else this.log.info(`Message received: ${text} from ${deviceId}`)
        if (outcome.rebooted) this.log.info(`${deviceId} restarted (boot ${reading.boot})`)
        if (outcome.missing > 0)
            this.log.info(`${deviceId}: ${outcome.missing} reading(s) before seq ${reading.seq} never arrived`)

        const event: TelemetryEvent = {
            deviceId,
            light: reading.light,
            ledOn: outcome.ledOn,
            duplicate: outcome.duplicate,
            seq: reading.seq,
        }
        this.emit("telemetry", event)
        if (outcome.command) this.sendCommand(deviceId, outcome.command, outcome.reason!)
        if (outcome.ack) this.acks.run(deviceId, () => this.sendAck(deviceId))
    }

    /** A retained command (rebuild), our own coming back, or another server's. */
    private onCommand(topic: string, payload: Buffer): void {
        const deviceId = this.deviceOf(topic, "commands")
        if (deviceId === undefined) return
        const parsed = parseCommand(payload)
        if (!parsed.ok) return this.log.debug(`ignored a command on ${printable(topic)}: ${parsed.detail}`)
        const state = this.devices.get(deviceId) ?? this.newState()
        if (!state.commandSeen(parsed.value)) return
        this.devices.set(deviceId, state)
        this.log.debug(`${deviceId}: took command ${parsed.value.seq} from the broker as the current one`)
    }

    /** A retained ack (rebuild), or our own coming back. */
    private onAck(topic: string, payload: Buffer): void {
        const deviceId = this.deviceOf(topic, "acks")
        if (deviceId === undefined) return
        const parsed = parseAck(payload)
        if (!parsed.ok) return this.log.debug(`ignored an ack on ${printable(topic)}: ${parsed.detail}`)
        const state = this.devices.get(deviceId) ?? this.newState()
        if (!state.ackSeen(parsed.value)) return
        this.devices.set(deviceId, state)
        this.log.debug(`${deviceId}: readings up to ${parsed.value.seq} of boot ${parsed.value.boot} are stored`)
    }

    private onStatus(topic: string, payload: Buffer): void {
        const deviceId = this.deviceOf(topic, "status")
        if (deviceId === undefined) return
        const status = parseStatus(payload)
        // An empty payload clears a retained status; anything else is not ours to interpret.
        if (status === undefined) return this.log.debug(`ignored status ${printable(payload.toString())}`)
        const { changed } = this.stateOf(deviceId).status(status)
        if (!changed) return
        this.log.info(status === "online" ? `${deviceId} is online` : `${deviceId} went offline`)
        this.emit("status", { deviceId, online: status === "online" } satisfies StatusEvent)
    }

    private sendCommand(deviceId: string, command: CommandPayload, reason: CommandReason): void {
        const text = encode("commands", command)
        this.log.info(`Sending message: ${text} to ${deviceId}`)
        this.emit("command", { deviceId, command, reason } satisfies CommandEvent)
        this.bus.publish(topics.commands(deviceId), text, COMMAND_DELIVERY).then(
            () => this.counters.commandsSent++,
            (err: Error) => {
                this.counters.commandsFailed++
                this.devices.get(deviceId)?.commandLost(command.seq!)
                this.log.warn(`could not send the command to ${deviceId}: ${err.message}`)
            }
        )
    }

    private sendAck(deviceId: string): void {
        const ack = this.devices.get(deviceId)?.ack()
        if (!ack) return
        const sent = this.bus.publish(topics.acks(deviceId), encode("acks", ack), ACK_DELIVERY).then(
            () => void this.counters.acksSent++,
            (err: Error) => {
                this.counters.acksFailed++
                // The device sends unacknowledged readings again, and those are acknowledged then.
                this.log.debug(`could not send the ack to ${deviceId}: ${err.message}`)
            }
        )
        if (!this.running) this.finalAcks.push(sent)
    }

    /** The device id of a state topic of this kind; undefined (ignored) for anything else. */
    private deviceOf(topic: string, kind: "commands" | "acks" | "status"): string | undefined {
        if (!this.running) return undefined
        const where = parseTopic(topic)
        return where?.kind === kind ? where.deviceId : undefined
    }

    /**
     * The bus is connected to the broker again after losing it. Every known device gets its decision
     * again with its next reading, in case the broker lost the retained commands (see DeviceState.resync).
     */
    brokerReconnected(): void {
        for (const state of this.devices.values()) state.resync()
        if (this.devices.size > 0)
            this.log.info(
                `back on the broker: ${this.devices.size} device(s) get their LED state with their next reading`
            )
    }

    private stateOf(deviceId: string): DeviceState {
        let state = this.devices.get(deviceId)
        if (!state) {
            state = this.newState()
            this.devices.set(deviceId, state)
        }
        return state
    }

    private newState(): DeviceState {
        return new DeviceState({ threshold: this.threshold, band: this.band, mismatchResendMs: this.mismatchResendMs })
    }

    private reject(topic: string, reason: RejectionReason, detail: string): void {
        this.counters.rejected[reason]++
        this.log.warn(`Rejected telemetry on ${JSON.stringify(printable(topic, 100))}: ${reason}: ${printable(detail)}`)
        this.emit("rejected", { topic, reason, detail } satisfies RejectionEvent)
    }
}
