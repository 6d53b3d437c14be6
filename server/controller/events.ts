/** The controller's options, counters and events, apart so importers take types, not the class. */
import type { LinkState } from "../device/reading-link"
import type { CommandReason } from "../device/types"
import type { GroupConfig } from "../groups/config"
import type { GroupView, RuleSettings } from "../http/api-types"
import type { Logger } from "../util/logger"
import type { MessageBus } from "../mqtt/message-bus"
import type { CommandPayload, DeviceConfigValues } from "../protocol/contract"
import type { DeviceConfigStore } from "./device-config"
import type { OwnRuleChange } from "./own-rules"
import type { RejectReason } from "../protocol/parse"
import type { Timers } from "../util/clock"

/** Why a telemetry message was dropped: the payload reasons from protocol/contract.ts, plus a bad topic. */
export type RejectionReason = RejectReason | "bad_topic"
export const REJECTION_REASONS: readonly RejectionReason[] = [
    "bad_topic",
    "too_large",
    "not_json",
    "not_object",
    "bad_field",
]

export interface ServerStats {
    /** Valid or not. */
    received: number
    commandsSent: number
    commandsFailed: number
    acksSent: number
    acksFailed: number
    /** --max-devices */
    devicesRefused: number
    /** `<id>/config` messages the broker took, and those it did not. */
    configsSent: number
    configsFailed: number
    /** The device config's version now (not a counter). */
    configVersion: number
    rejected: Record<RejectionReason, number>
}

/** Twice the benchmark's fleet; a device costs a few KB, and a client picks the ids it publishes on. */
export const DEFAULT_MAX_DEVICES = 20_000

export interface TelemetryEvent {
    deviceId: string
    light: number
    at: number
    reportedLed: boolean | undefined
    local: boolean | undefined
    ledOn: boolean | undefined
    duplicate: boolean
    seq?: number
}
export interface CommandEvent {
    deviceId: string
    command: CommandPayload
    reason: CommandReason
    at: number
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

/** Types `controller.on(...)`: an event not listed here does not compile. */
export interface NightlightServerEvents {
    /** Duplicates included. */
    telemetry: [event: TelemetryEvent]
    command: [event: CommandEvent]
    status: [event: StatusEvent]
    rejected: [event: RejectionEvent]
    group: [view: GroupView]
    settings: [settings: RuleSettings]
    /** Known devices a change (fleet, group, device) gave a new config and version. */
    configs: [deviceIds: string[]]
    /** Devices whose own threshold and band (own-rules.ts) changed at `at` (ms), as recorded in deviceRuleLog. */
    rules: [changes: OwnRuleChange[], at: number]
}

export interface NightlightServerOptions {
    bus: MessageBus
    logger: Logger
    /** Light units; LED on below it. */
    threshold?: number
    /** Light units; LED off again only from threshold + band up. */
    band?: number
    /** ms between two acks to a device, for every device; default: what each device's config allows (ackIntervalFor). */
    ackIntervalMs?: number
    /** ms; see MISMATCH_RESEND_MS. */
    mismatchResendMs?: number
    timers?: Timers
    groups?: readonly GroupConfig[]
    /** An ack promises the readings are stored: the store writes here; throwing holds the acks back. */
    beforeAcks?: (links: ReadonlyMap<string, LinkState>) => void
    /** True while beforeAcks would stop the server for a while: the acks wait a batch window, then look again. */
    storeBusy?: () => boolean
    /** Ids whose `<id>/status` is not a device's (--ha-birth-topic); HOME_ASSISTANT_STATUS_ID always is. */
    notDevices?: readonly string[]
    maxDevices?: number
    /** The device config's values besides the threshold and band; the firmware's defaults unless given. */
    deviceDefaults?: Partial<Pick<DeviceConfigValues, "reportMs" | "minChange" | "localAfterMs">>
    /** Keeps the device config's version across restarts; without it the version starts from the clock. */
    deviceConfigStore?: DeviceConfigStore
    /** Where each device's own threshold and band over time is kept (store/device-rule-log.ts). */
    deviceRuleLog?: DeviceRuleLogSink
}

export interface DeviceRuleLogSink {
    /** The devices whose last recorded entry is a rule of their own. */
    inForce(): ReadonlyMap<string, RuleSettings>
    /** Should not throw: a failure to record must not stop a change (log it). */
    record(at: number, changes: readonly OwnRuleChange[]): void
}
