/**
 * The types DeviceState (state.ts) takes and returns: its rule, the reasons for a command, and
 * what a reading or a decision comes to. Kept apart so the class's file holds the rules alone.
 */
import type { AckPayload, CommandPayload } from "../protocol/contract"
import type { Arrival, LinkSnapshot } from "./reading-link"

export interface DecisionRule {
    threshold: number
    band: number
    /** Defaults to MISMATCH_RESEND_MS (state.ts). */
    mismatchResendMs?: number
}

/**
 * Why a command is sent: rules (a)-(d) of the reliable link, "retry" after one that failed, and the
 * decisions made without a reading of this device: its group's ("group"), new settings ("settings"),
 * a person switching it ("manual", which holds until the automatic decision next changes).
 */
export type CommandReason =
    "first" | "changed" | "mismatch" | "online" | "retry" | "resync" | "group" | "settings" | "manual"

/**
 * The automatic rule: the LED from this device's light and the rule's previous state (for hysteresis).
 * The default is the threshold with its band; a group's vote replaces it for the group's members.
 * undefined: no decision (a group that never had enough voters), so the device is not commanded.
 */
export type Decide = (light: number, previous: boolean | undefined) => boolean | undefined

/** A decision made without a reading of this device: maybe a command to send. */
export interface Decision {
    ledOn: boolean
    command?: CommandPayload
    reason?: CommandReason
}

/** What the link made of a reading (see Arrival), and the decision on it. */
export interface ReadingOutcome extends Omit<Arrival, "stale"> {
    /**
     * The decision after this reading; undefined before any decision (a duplicate arriving first, or a
     * member of a group that has not decided yet).
     */
    ledOn: boolean | undefined
    /** Set when the reading carried seq and boot: it is to be acknowledged. */
    ack?: AckPayload
    command?: CommandPayload
    reason?: CommandReason
}

/** A copy of the state, for tests and dashboards. Sequence numbers are 0 when there is none yet. */
export interface DeviceSnapshot extends LinkSnapshot {
    lastLight: number | undefined
    /** When the last reading was taken (see ReadingOutcome.at). */
    lastLightAt: number | undefined
    /** The server's decision. */
    ledOn: boolean | undefined
    /** A person switched the LED (override) and the automatic decision has not changed since. */
    manual: boolean
    /** Sequence number of the last command (sent, or rebuilt from the retained one). */
    commandSeq: number
    /** From `<id>/status`; undefined until the device (or its will) said anything. */
    online: boolean | undefined
    /** Whether the device was deciding by itself, as it last reported. */
    local: boolean | undefined
    /** The LED as the device last reported it. */
    reportedLed: boolean | undefined
}
