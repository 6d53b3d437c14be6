/**
 * The server logic over a link that survives outages (README "Wire protocol"). The rules are
 * device/state.ts's; this class wires the parts and reports through its events. Bad input is counted
 * and logged, never thrown.
 */
import { EventEmitter } from "node:events"
import type {
    DeviceConfigDeviceView,
    DeviceConfigGroupView,
    DeviceConfigOverride,
    GroupRule,
    GroupView,
    RuleSettings,
} from "../http/api-types"
import type { LinkState } from "../device/reading-link"
import type { DecisionRule, DeviceSnapshot } from "../device/types"
import { GroupStates } from "../groups/state"
import type { Logger } from "../util/logger"
import type { MessageBus, MessageHandler } from "../mqtt/message-bus"
import {
    DEFAULT_BAND,
    DEFAULT_DEVICE_CONFIG,
    DEFAULT_THRESHOLD,
    topics,
    type DeviceConfigPayload,
} from "../protocol/contract"
import { AckSender } from "./ack-sender"
import { realTimers, type Timers } from "../util/clock"
import { LogLimiter, suppressedText } from "../util/log-limit"
import { printable } from "../util/logger"
import {
    DEFAULT_MAX_DEVICES,
    REJECTION_REASONS,
    type NightlightServerEvents,
    type NightlightServerOptions,
    type RejectionReason,
    type ServerStats,
} from "./events"
import { CommandSender } from "./commands"
import { DeviceConfigs, type ConfigChange } from "./device-config"
import { DeviceRule } from "./device-rule"
import { DeviceStates } from "./device-states"
import { GroupCoordinator } from "../groups/coordinator"
import { TelemetryRejections } from "./rejections"
import { StateTopics } from "./state-topics"
import { TelemetryHandler } from "./telemetry"

export class NightlightServer extends EventEmitter<NightlightServerEvents> {
    private readonly bus: MessageBus
    private readonly log: Logger
    /** Shared with every DeviceState, not copied. */
    private readonly rules: RuleSettings & { mismatchResendMs?: number }
    readonly groups: GroupStates
    private readonly timers: Timers
    private readonly devices: DeviceStates
    private readonly ackSender: AckSender
    private readonly commands: CommandSender
    private readonly groupVotes: GroupCoordinator
    private readonly stateTopics: StateTopics
    private readonly rejections: TelemetryRejections
    private readonly telemetry: TelemetryHandler
    private readonly configs: DeviceConfigs
    private running = false
    /** One line per minute about a full registry, however many new ids knock. */
    private readonly registryFull: LogLimiter
    private readonly counters: Omit<ServerStats, "configVersion"> = {
        received: 0,
        commandsSent: 0,
        commandsFailed: 0,
        acksSent: 0,
        acksFailed: 0,
        devicesRefused: 0,
        configsSent: 0,
        configsFailed: 0,
        rejected: Object.fromEntries(REJECTION_REASONS.map(r => [r, 0])) as Record<RejectionReason, number>,
    }

    constructor(options: NightlightServerOptions) {
        super()
        const bus = (this.bus = options.bus)
        const log = (this.log = options.logger)
        const timers = (this.timers = options.timers ?? realTimers)
        const counters = this.counters
        this.registryFull = new LogLimiter(
            (_key, suppressed, spanMs) =>
                log.warn(`the device registry is still full: ${suppressedText(suppressed, spanMs)}`),
            { linesPerWindow: 1 },
            timers
        )
        this.rules = {
            threshold: options.threshold ?? DEFAULT_THRESHOLD,
            band: options.band ?? DEFAULT_BAND,
            mismatchResendMs: options.mismatchResendMs,
        }
        this.groups = new GroupStates(options.groups)
        const configs = (this.configs = new DeviceConfigs({
            bus,
            log,
            timers,
            values: { ...DEFAULT_DEVICE_CONFIG, ...options.deviceDefaults, ...this.settings() },
            store: options.deviceConfigStore,
            groups: this.groups,
            counters,
            changed: deviceIds => this.emit("configs", deviceIds),
            ownRules: {
                saved: options.deviceRuleLog?.inForce(),
                changed: changes => {
                    const at = timers.now()
                    options.deviceRuleLog?.record(at, changes)
                    this.emit("rules", changes, at)
                },
            },
        }))
        const rules = this.rules
        const ruleOf = (deviceId: string): DecisionRule => new DeviceRule(configs, deviceId, rules.mismatchResendMs)
        const devices = (this.devices = new DeviceStates(
            ruleOf,
            {
                max: options.maxDevices ?? DEFAULT_MAX_DEVICES,
                refused: deviceId => {
                    counters.devicesRefused++
                    if (this.registryFull.allow("full"))
                        log.warn(
                            `the device registry is full (${devices.max} devices, --max-devices): ignored a message ` +
                                `from a new device, ${printable(deviceId, 64)}; the devices already known are served as before`
                        )
                },
            },
            deviceId => configs.added(deviceId)
        ))
        const fixedAckInterval = options.ackIntervalMs
        const ackSender = (this.ackSender = new AckSender({
            bus,
            log,
            timers,
            // a fixed interval (a share group's, tests') applies to every device
            intervalOf:
                fixedAckInterval === undefined ? deviceId => configs.ackInterval(deviceId) : () => fixedAckInterval,
            current: deviceId => {
                const state = devices.get(deviceId)
                const ack = state?.ack()
                const link = state?.link()
                return ack && link ? { ack, link } : undefined
            },
            beforeAcks: options.beforeAcks ?? (() => undefined),
            storeBusy: options.storeBusy,
            counters,
        }))
        const commands = (this.commands = new CommandSender({
            bus,
            log,
            timers,
            devices,
            counters,
            sent: event => this.emit("command", event),
        }))
        const groups = (this.groupVotes = new GroupCoordinator({
            groups: this.groups,
            devices,
            rules: this.rules,
            ruleOf: deviceId => configs.ruleOf(deviceId),
            log,
            commands,
            // No view only for a group that is not configured, which no device belongs to.
            voted: view => {
                if (view) this.emit("group", view)
            },
        }))
        this.stateTopics = new StateTopics({
            devices,
            groups,
            log,
            timers,
            ackAfterPeer: deviceId => ackSender.dueAfterPeer(deviceId),
            statusChanged: event => this.emit("status", event),
            notDevices: options.notDevices,
        })
        const rejections = (this.rejections = new TelemetryRejections({
            log,
            timers,
            counters,
            rejected: event => this.emit("rejected", event),
        }))
        this.telemetry = new TelemetryHandler({
            devices,
            groups,
            commands,
            acks: ackSender,
            rejections,
            log,
            timers,
            counters,
            received: event => this.emit("telemetry", event),
            configReported: (deviceId, version, error) => configs.reported(deviceId, version, error),
        })
    }

    /** The bus must be started by its owner. */
    async start(): Promise<void> {
        if (this.running) return
        this.running = true
        const state = this.stateTopics
        const telemetry = this.telemetry
        // State topics first: the buses make subscriptions in this order, so the retained state is
        // usually rebuilt before the first reading is decided on (and the handlers cope when it is not).
        await this.bus.subscribe(topics.allCommands, this.whileRunning(state.onCommand.bind(state)))
        await this.bus.subscribe(topics.allAcks, this.whileRunning(state.onAck.bind(state)))
        await this.bus.subscribe(topics.allStatus, this.whileRunning(state.onStatus.bind(state)))
        // Shared: servers of a share group each get some of the readings (docs/scale-out.md). The state
        // topics above are not: every server must see every command, ack and status.
        const onTelemetry = this.whileRunning(telemetry.onTelemetry.bind(telemetry))
        await this.bus.subscribe(topics.allTelemetry, onTelemetry, { shared: true })
        this.log.info(
            `listening for telemetry on ${topics.allTelemetry}; LED on when light < ${this.threshold}, ` +
                `off again when light >= ${this.threshold + this.band}`
        )
    }

    /** Acks still waiting go out first; the bus owner stops the bus. */
    async stop(): Promise<void> {
        if (!this.running) return
        this.running = false
        await this.ackSender.stop()
        this.rejections.flush()
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

    /** Validated by the caller; every device is decided again at once, not at its next report. */
    updateSettings(next: RuleSettings): void {
        this.rules.threshold = next.threshold
        this.rules.band = next.band
        this.log.info(
            `new settings: LED on when light < ${next.threshold}, off again when light >= ${next.threshold + next.band}`
        )
        this.emit("settings", this.settings())
        this.configs.change({ ...this.configs.current(), ...next })
        this.decideAgain(this.devices.ids(), this.groups.names())
    }

    /** Devices alone by their rule, and groups by their vote, at once rather than at their next report. */
    private decideAgain(deviceIds: Iterable<string>, groups: Iterable<string>): void {
        const now = this.timers.now()
        for (const deviceId of deviceIds) {
            const state = this.devices.get(deviceId)
            const auto = state?.thresholdDecision()
            if (this.groups.groupOf(deviceId) !== undefined || auto === undefined || !state) continue
            this.commands.send(deviceId, state.decide(auto, now, "settings"))
        }
        for (const name of groups) this.groupVotes.revote(name, now, "settings")
    }

    /** undefined: a device never met (nor known from before this start). */
    deviceConfigOf(deviceId: string): DeviceConfigDeviceView | undefined {
        const c = this.configs
        if (!c.isKnown(deviceId)) return undefined
        const group = this.groups.groupOf(deviceId) ?? null
        return {
            id: deviceId,
            group,
            config: c.configFor(deviceId),
            sources: c.sources(deviceId),
            override: c.deviceOverride(deviceId),
            groupOverride: group === null ? {} : c.groupOverride(group),
        }
    }

    /** Why a change of the devices' config would leave a device deciding alone beside the server; undefined: none. */
    deviceConfigProblem(change: ConfigChange): string | undefined {
        return this.configs.timingProblem(change)
    }

    /** Validated by the caller; undefined clears. The device gets a new config if it changed, and is decided again. */
    setDeviceConfigOverride(deviceId: string, override: DeviceConfigOverride | undefined): boolean {
        if (!this.configs.isKnown(deviceId)) return false
        if (this.configs.setDeviceOverride(deviceId, override)) {
            const group = this.groups.groupOf(deviceId)
            this.decideAgain([deviceId], group === undefined ? [] : [group])
        }
        return true
    }

    /** undefined: no such group. */
    groupConfigOf(name: string): DeviceConfigGroupView | undefined {
        if (!this.groups.config(name)) return undefined
        return { name, members: [...this.groups.members(name)], override: this.configs.groupOverride(name) }
    }

    /** Validated by the caller; undefined clears. Members whose config changed get it; the group votes again. */
    setGroupConfigOverride(name: string, override: DeviceConfigOverride | undefined): boolean {
        if (!this.groups.config(name)) return false
        if (this.configs.setGroupOverride(name, override)) this.decideAgain([], [name])
        return true
    }

    /** The version the device's config was last published with: it runs an old one below. */
    configSent(deviceId: string): number {
        return this.configs.sentVersion(deviceId)
    }

    /** Validated by the caller; a change goes to every device with a new config version. */
    updateDeviceDefaults(values: Partial<Pick<DeviceConfigPayload, "reportMs" | "minChange" | "localAfterMs">>): void {
        this.configs.change({ ...this.configs.current(), ...values })
    }

    /** Validated by the caller; the group votes again at once. */
    setGroupRule(name: string, rule: GroupRule): GroupView | undefined {
        if (!this.groups.setRule(name, rule)) return undefined
        this.log.info(`group ${name}: new rule ${JSON.stringify(rule)}`)
        this.groupVotes.revote(name, this.timers.now(), "group")
        return this.groups.view(name)
    }

    /** Holds until the automatic decision next changes; false for an unknown device. */
    override(deviceId: string, ledOn: boolean): boolean {
        const state = this.devices.get(deviceId)
        if (!state || !this.running) return false
        this.log.info(`${deviceId}: LED switched ${ledOn ? "on" : "off"} by hand`)
        this.commands.send(deviceId, state.override(ledOn, this.timers.now()))
        return true
    }

    /** Since the server started, some readings never arrived or were discarded by the device. */
    readingsLost(deviceId: string): boolean {
        return this.devices.get(deviceId)?.readingsLost() ?? false
    }

    switchedByHand(deviceId: string): boolean {
        return this.devices.get(deviceId)?.switchedByHand() ?? false
    }

    /** From the store, before start(): in case the broker lost the retained acks. */
    restore(links: Iterable<{ deviceId: string; link: LinkState }>): void {
        const now = this.timers.now()
        for (const { deviceId, link } of links) this.devices.restored(deviceId).restore(link, now)
    }

    stats(): ServerStats {
        const configVersion = this.configs.current().version
        return { ...this.counters, configVersion, rejected: { ...this.counters.rejected } }
    }

    /** The config the devices are sent now (`<id>/config`). */
    deviceConfig(): DeviceConfigPayload {
        return this.configs.current()
    }

    /**
     * The bus is up, or back: every known device gets its config (retained) again, a broker that lost
     * its retained messages included, and each device met from now on gets it at once.
     */
    publishConfigs(): void {
        this.configs.publishAll()
    }

    /** Devices known from before this start (the registry), whether or not they come back: see publishConfigs. */
    knownDevices(deviceIds: Iterable<string>): void {
        this.configs.remember(deviceIds)
    }

    /** The config version the device's last reading carried; null: it never said (the lesson's device). */
    configVersion(deviceId: string): number | null {
        return this.configs.versionOf(deviceId)
    }

    /** Why the device refused its last config, from its readings; null when it did not. */
    configError(deviceId: string): string | null {
        return this.configs.errorOf(deviceId)
    }

    device(deviceId: string): DeviceSnapshot | undefined {
        return this.devices.get(deviceId)?.snapshot()
    }

    deviceIds(): string[] {
        return this.devices.ids()
    }

    /** See DeviceState.resync. */
    brokerReconnected(): void {
        for (const state of this.devices.values()) state.resync()
        if (this.devices.size > 0)
            this.log.info(
                `back on the broker: ${this.devices.size} device(s) get their LED state with their next reading`
            )
    }

    /** A stopped server ignores what the bus still delivers until its owner stops it. */
    private whileRunning(handle: MessageHandler): MessageHandler {
        return (topic, payload) => {
            if (this.running) handle(topic, payload)
        }
    }
}
