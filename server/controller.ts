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
import type { GroupRule, GroupView, RuleSettings } from "./api-types"
import {
    DeviceState,
    type CommandReason,
    type Decide,
    type Decision,
    type DeviceSnapshot,
    type LinkState,
} from "./device-state"
import { GroupStates, type MemberLookup } from "./group-state"
import { DEFAULT_LOG_LIMIT, LogLimiter, suppressedText } from "./log-limit"
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
} from "./protocol"
import { AckSender } from "./ack-sender"
import { realTimers, type Timers } from "./throttle"
import {
    REJECTION_REASONS,
    type CommandEvent,
    type NightlightServerOptions,
    type RejectionEvent,
    type RejectionReason,
    type ServerStats,
    type StatusEvent,
    type TelemetryEvent,
} from "./controller-events"

export * from "./controller-events"
export { ACK_BATCH, ACK_INTERVAL_MS } from "./ack-sender"

/** Not a device: Home Assistant's birth topic `homeassistant/status` matches `+/status`. */
export const HOME_ASSISTANT_STATUS_ID = "homeassistant"

const COMMAND_DELIVERY: PublishOptions = { qos: 1, retain: true }
/**
 * Emits "telemetry" (TelemetryEvent) for each valid reading, "command" (CommandEvent) for each command
 * sent, "status" (StatusEvent) when a device goes online or offline, "rejected" (RejectionEvent) for
 * each bad reading, "group" (GroupView) after each vote, "settings" (RuleSettings) when they change.
 */
export class NightlightServer extends EventEmitter {
    private readonly bus: MessageBus
    private readonly log: Logger
    /** Shared with every DeviceState: a change applies to their next decision. */
    private readonly rules: RuleSettings & { mismatchResendMs?: number }
    readonly groups: GroupStates
    private readonly ackSender: AckSender
    private readonly timers: Timers
    private readonly devices = new Map<string, DeviceState>()
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
        this.rules = {
            threshold: options.threshold ?? DEFAULT_THRESHOLD,
            band: options.band ?? DEFAULT_BAND,
            mismatchResendMs: options.mismatchResendMs,
        }
        this.groups = new GroupStates(options.groups)
        this.timers = options.timers ?? realTimers
        this.ackSender = new AckSender({
            bus: this.bus,
            log: this.log,
            timers: this.timers,
            intervalMs: options.ackIntervalMs,
            current: deviceId => {
                const state = this.devices.get(deviceId)
                const ack = state?.ack()
                const link = state?.link()
                return ack && link ? { ack, link } : undefined
            },
            beforeAcks: options.beforeAcks ?? (() => undefined),
            counters: this.counters,
        })
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
        // Shared: servers of a share group each get some of the readings (docs/scale-out.md). The state
        // topics above are not: every server must see every command, ack and status.
        await this.bus.subscribe(topics.allTelemetry, (topic, payload) => this.onTelemetry(topic, payload), {
            shared: true,
        })
        this.log.info(
            `listening for telemetry on ${topics.allTelemetry}; LED on when light < ${this.threshold}, ` +
                `off again when light >= ${this.threshold + this.band}`
        )
    }

    /** Stops answering; acks still waiting go out first. (The bus owner stops the bus.) */
    async stop(): Promise<void> {
        if (!this.running) return
        this.running = false
        await this.ackSender.stop()
        this.rejectionLog?.flush()
    }

    get threshold(): number {
        return this.rules.threshold
    }

    get band(): number {
        return this.rules.band
    }

    settings(): RuleSettings {
        return { threshold: this.rules.threshold, band: this.rules.band }
    }

    /**
     * New threshold and band (validated by the caller). Every device is decided again at once from its
     * last reading (a group from its members'), so a LED the new rule switches does not wait for the
     * device's next report.
     */
    updateSettings(next: RuleSettings): void {
        this.rules.threshold = next.threshold
        this.rules.band = next.band
        this.log.info(
            `new settings: LED on when light < ${next.threshold}, off again when light >= ${next.threshold + next.band}`
        )
        this.emit("settings", this.settings())
        const now = this.timers.now()
        for (const [deviceId, state] of this.devices) {
            const auto = state.thresholdDecision()
            if (this.groups.groupOf(deviceId) !== undefined || auto === undefined) continue
            this.send(deviceId, state.decide(auto, now, "settings"))
        }
        for (const name of this.groups.names()) this.revote(name, now, "settings")
    }

    /** A group's new rule (validated by the caller); the group votes again at once. */
    setGroupRule(name: string, rule: GroupRule): GroupView | undefined {
        if (!this.groups.setRule(name, rule)) return undefined
        this.log.info(`group ${name}: new rule ${JSON.stringify(rule)}`)
        this.revote(name, this.timers.now(), "group")
        return this.groups.view(name)
    }

    /**
     * A person switches a device's LED (Home Assistant, the dashboard). It holds until the automatic
     * decision next changes. False for a device the server never heard of.
     */
    override(deviceId: string, ledOn: boolean): boolean {
        const state = this.devices.get(deviceId)
        if (!state || !this.running) return false
        this.log.info(`${deviceId}: LED switched ${ledOn ? "on" : "off"} by hand`)
        this.send(deviceId, state.override(ledOn, this.timers.now()))
        return true
    }

    /**
     * Where each device's link stood when the server last stopped (from the store): call before start(),
     * so readings stored before the restart are known as such even if the broker lost the retained acks.
     */
    restore(links: Iterable<{ deviceId: string; link: LinkState }>): void {
        const now = this.timers.now()
        for (const { deviceId, link } of links) this.stateOf(deviceId).restore(link, now)
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
        const now = this.timers.now()
        const group = this.groups.groupOf(deviceId)
        let groupChanged = false
        // A member's reading makes its group vote again; the vote is the member's decision too.
        const decide: Decide | undefined =
            group === undefined
                ? undefined
                : () => {
                      const vote = this.groups.vote(group, this.memberLookup, this.rules, now)
                      groupChanged = vote.changed
                      return vote.ledOn
                  }
        const outcome = this.stateOf(deviceId).reading(reading, now, decide)
        // The line per reading is built only when it is logged: under load it cost more than it says.
        if (this.log.isLevelEnabled(outcome.duplicate ? "debug" : "info")) {
            const text = printable(payload.toString("utf8"))
            if (outcome.duplicate) this.log.debug(`Message received again (a duplicate): ${text} from ${deviceId}`)
            else this.log.info(`Message received: ${text} from ${deviceId}`)
        }
        if (outcome.rebooted) this.log.info(`${deviceId} restarted (boot ${reading.boot})`)
        if (outcome.missing > 0)
            this.log.info(`${deviceId}: ${outcome.missing} reading(s) before seq ${reading.seq} never arrived`)

        const event: TelemetryEvent = {
            deviceId,
            light: reading.light,
            at: outcome.at,
            reportedLed: reading.led,
            local: reading.local,
            ledOn: outcome.ledOn,
            duplicate: outcome.duplicate,
            seq: reading.seq,
        }
        this.emit("telemetry", event)
        if (outcome.command) this.sendCommand(deviceId, outcome.command, outcome.reason!)
        if (group !== undefined && !outcome.duplicate) {
            if (groupChanged) this.tellMembers(group, now, "group", deviceId)
            this.emit("group", this.groups.view(group))
        }
        if (outcome.ack) this.ackSender.due(deviceId, outcome.duplicate)
    }

    /** A retained command (rebuild), our own coming back, or another server's. */
    private onCommand(topic: string, payload: Buffer): void {
        const deviceId = this.deviceOf(topic, "commands")
        if (deviceId === undefined) return
        const parsed = parseCommand(payload)
        if (!parsed.ok) return this.log.debug(`ignored a command on ${printable(topic)}: ${parsed.detail}`)
        const state = this.devices.get(deviceId) ?? this.newState()
        if (!state.commandSeen(parsed.value, this.timers.now())) return
        this.devices.set(deviceId, state)
        this.log.debug(`${deviceId}: took command ${parsed.value.seq} from the broker as the current one`)
    }

    /**
     * A retained ack (rebuild), our own coming back, or another server's (a share group). When another
     * server's ack reaches readings this one holds right after it, this server acknowledges them at once:
     * with readings spread over several servers, the acks go back and forth until all are covered.
     */
    private onAck(topic: string, payload: Buffer): void {
        const deviceId = this.deviceOf(topic, "acks")
        if (deviceId === undefined) return
        const parsed = parseAck(payload)
        if (!parsed.ok) return this.log.debug(`ignored an ack on ${printable(topic)}: ${parsed.detail}`)
        const state = this.devices.get(deviceId) ?? this.newState()
        if (!state.ackSeen(parsed.value)) return
        this.devices.set(deviceId, state)
        this.log.debug(`${deviceId}: readings up to ${parsed.value.seq} of boot ${parsed.value.boot} are stored`)
        if ((state.ack()?.seq ?? 0) > parsed.value.seq) this.ackSender.dueAfterPeer(deviceId)
    }

    private onStatus(topic: string, payload: Buffer): void {
        const deviceId = this.deviceOf(topic, "status")
        // Home Assistant announces itself on `homeassistant/status` ("online"/"offline"), on our pattern.
        if (deviceId === undefined || deviceId === HOME_ASSISTANT_STATUS_ID) return
        const status = parseStatus(payload)
        // An empty payload clears a retained status; anything else is not ours to interpret.
        if (status === undefined) return this.log.debug(`ignored status ${printable(payload.toString())}`)
        const { changed } = this.stateOf(deviceId).status(status)
        if (!changed) return
        this.log.info(status === "online" ? `${deviceId} is online` : `${deviceId} went offline`)
        this.emit("status", { deviceId, online: status === "online" } satisfies StatusEvent)
        // an offline member stops voting: its group may decide otherwise now
        const group = this.groups.groupOf(deviceId)
        if (group !== undefined) this.revote(group, this.timers.now(), "group")
    }

    /** The group votes again; on a new decision every member (but `except`) is told. */
    private revote(group: string, now: number, reason: CommandReason): void {
        const vote = this.groups.vote(group, this.memberLookup, this.rules, now)
        if (vote.changed) this.tellMembers(group, now, reason)
        this.emit("group", this.groups.view(group))
    }

    private tellMembers(group: string, now: number, reason: CommandReason, except?: string): void {
        const vote = this.groups.view(group)?.ledOn
        if (vote === null || vote === undefined) return
        this.log.info(`group ${group}: LED ${vote ? "on" : "off"} for every member`)
        for (const id of this.groups.members(group)) {
            const state = this.devices.get(id)
            if (id !== except && state) this.send(id, state.decide(vote, now, reason))
        }
    }

    private readonly memberLookup: MemberLookup = id => {
        const state = this.devices.get(id)
        if (!state) return undefined
        const s = state.snapshot()
        return {
            state: { light: s.lastLight, lightAt: s.lastLightAt, online: s.online },
            auto: state.autoState(),
        }
    }

    private send(deviceId: string, decision: Decision): void {
        if (decision.command) this.sendCommand(deviceId, decision.command, decision.reason!)
    }

    private sendCommand(deviceId: string, command: CommandPayload, reason: CommandReason): void {
        const text = encode("commands", command)
        if (this.log.isLevelEnabled("info")) this.log.info(`Sending message: ${text} to ${deviceId}`)
        const at = command.t ?? this.timers.now()
        this.emit("command", { deviceId, command, reason, at } satisfies CommandEvent)
        this.bus.publish(topics.commands(deviceId), text, COMMAND_DELIVERY).then(
            () => this.counters.commandsSent++,
            (err: Error) => {
                this.counters.commandsFailed++
                this.devices.get(deviceId)?.commandLost(command.seq!)
                this.log.warn(`could not send the command to ${deviceId}: ${err.message}`)
            }
        )
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
        return new DeviceState(this.rules)
    }

    /**
     * Lines about rejections, limited per reason (log-limit.ts): a flood of bad messages costs a few
     * lines a minute and a summary, not a full disk. The counters still count every one. Made on first
     * use, as it needs the timers.
     */
    private rejectionLog?: LogLimiter

    private reject(topic: string, reason: RejectionReason, detail: string): void {
        this.counters.rejected[reason]++
        this.rejectionLog ??= new LogLimiter(
            (key, suppressed, spanMs) =>
                this.log.warn(`Rejected telemetry: ${key}: ${suppressedText(suppressed, spanMs)}`),
            DEFAULT_LOG_LIMIT,
            this.timers
        )
        if (this.rejectionLog.allow(reason))
            this.log.warn(
                `Rejected telemetry on ${JSON.stringify(printable(topic, 100))}: ${reason}: ${printable(detail)}`
            )
        this.emit("rejected", { topic, reason, detail } satisfies RejectionEvent)
    }
}
