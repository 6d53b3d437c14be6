/**
 * What the controller (nightlight-server.ts) tells the rest of the server: its options, its counters and the
 * events it emits. Kept apart so the recorder, the dashboard and the tests import types, not the class.
 */
import type { LinkState } from "../device/reading-link"
import type { CommandReason } from "../device/types"
import type { GroupConfig } from "../groups/config"
import type { GroupView, RuleSettings } from "../http/api-types"
import type { Logger } from "../util/logger"
import type { MessageBus } from "../mqtt/message-bus"
import type { CommandPayload } from "../protocol/contract"
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
    /** Telemetry messages seen, valid or not. */
    received: number
    /** Commands handed to the broker. */
    commandsSent: number
    /** Commands the broker connection could not take (e.g. during an outage). */
    commandsFailed: number
    acksSent: number
    acksFailed: number
    /** Messages from a new device ignored because the registry was full (--max-devices). */
    devicesRefused: number
    rejected: Record<RejectionReason, number>
}

/**
 * Devices the server keeps at most (--max-devices): twice the benchmark's fleet of 10,000. A device
 * costs a few KB (its state here, its row in the store); without a cap, every id a client made up was
 * kept for ever.
 */
export const DEFAULT_MAX_DEVICES = 20_000

export interface TelemetryEvent {
    deviceId: string
    light: number
    /** When the reading was taken (server clock; see ReadingOutcome.at). */
    at: number
    /** The LED and the deciding side as the device reported them with the reading. */
    reportedLed: boolean | undefined
    local: boolean | undefined
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

/**
 * The controller's events and what each passes to its listeners (`controller.on("telemetry", e => ...)`
 * is typed from this; an event not listed here does not compile).
 */
export interface NightlightServerEvents {
    /** Each valid reading, duplicates included. */
    telemetry: [event: TelemetryEvent]
    /** Each command handed to the broker. */
    command: [event: CommandEvent]
    /** A device went online or offline. */
    status: [event: StatusEvent]
    /** Each bad telemetry message. */
    rejected: [event: RejectionEvent]
    /** A group after each vote. */
    group: [view: GroupView]
    /** The threshold and band after they changed. */
    settings: [settings: RuleSettings]
}

export interface NightlightServerOptions {
    bus: MessageBus
    logger: Logger
    /** Light units; LED on below it. */
    threshold?: number
    /** Light units; LED off again only from threshold + band up. */
    band?: number
    ackIntervalMs?: number
    /** Minimum ms between commands to a device whose reported LED disagrees (device/state.ts). */
    mismatchResendMs?: number
    /** The clock and timers (tests). */
    timers?: Timers
    /** Groups whose members decide together (groups/config.ts). */
    groups?: readonly GroupConfig[]
    /**
     * Runs before acks go out: an ack promises the readings are stored, so the history store writes what
     * it holds here, with where each device's link stands. Throwing holds the acks back.
     */
    beforeAcks?: (links: ReadonlyMap<string, LinkState>) => void
    /**
     * Ids whose `<id>/status` is not a device's: Home Assistant's birth topic when it has that shape
     * (--ha-birth-topic). HOME_ASSISTANT_STATUS_ID is always one.
     */
    notDevices?: readonly string[]
    /** Devices known at most; messages of new ones beyond it are ignored. Default DEFAULT_MAX_DEVICES. */
    maxDevices?: number
}
