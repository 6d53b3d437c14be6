/** The types DeviceState (state.ts) takes and returns, kept apart so its file holds the rules alone. */
import type { AckPayload, CommandPayload } from "../protocol/contract"
import type { Arrival, LinkSnapshot } from "./reading-link"

export interface DecisionRule {
    threshold: number
    band: number
    /** Defaults to MISMATCH_RESEND_MS (state.ts). */
    mismatchResendMs?: number
}

/** Why a command is sent: rules (a)-(d) of the reliable link, a retry, or a decision made without a reading. */
export type CommandReason =
    "first" | "changed" | "mismatch" | "online" | "retry" | "resync" | "group" | "settings" | "manual"

/** The LED from the light and the previous state (hysteresis); undefined: no decision, no command. */
export type Decide = (light: number, previous: boolean | undefined) => boolean | undefined

/** A decision made without a reading of this device: maybe a command to send. */
export interface Decision {
    ledOn: boolean
    command?: CommandPayload
    reason?: CommandReason
}

/** What the link made of a reading (see Arrival), and the decision on it. */
export interface ReadingOutcome extends Omit<Arrival, "stale"> {
    /** undefined before any decision (a duplicate arriving first, or a group not decided yet). */
    ledOn: boolean | undefined
    ack?: AckPayload
    command?: CommandPayload
    reason?: CommandReason
}

/** A copy of the state, for tests and dashboards. Sequence numbers are 0 when there is none yet. */
export interface DeviceSnapshot extends LinkSnapshot {
    lastLight: number | undefined
    lastLightAt: number | undefined
    ledOn: boolean | undefined
    manual: boolean
    commandSeq: number
    /** From `<id>/status`; undefined until the device (or its will) said anything. */
    online: boolean | undefined
    local: boolean | undefined
    reportedLed: boolean | undefined
}
