/**
 * One device's state and the rules turning a reading into a decision, an ack and maybe a command
 * (README "Wire protocol"). Pure: `now` comes in. Rebuilding from retained messages is idempotent,
 * because the server's own publications come back the same way.
 */
import type { CommandReason, Decide, Decision, DecisionRule, DeviceSnapshot, ReadingOutcome } from "./types"
import {
    decideLedWithBand,
    nextCommandSeq,
    type AckPayload,
    type CommandPayload,
    type StatusPayload,
    type TelemetryPayload,
} from "../protocol/contract"
import { ReadingLink, type LinkState } from "./reading-link"

/** Resend to a device reporting the wrong LED at most this often (ms); covers the command in flight. */
export const MISMATCH_RESEND_MS = 2000

/**
 * A reading older than this (ms) sends no repeat of the decision: it comes from the outbox after an
 * outage, and its LED is history. A change of decision is still sent: under overload every reading is late.
 */
export const REPEAT_MAX_AGE_MS = 2000

export class DeviceState {
    /** Shared with the server, not copied: new settings apply to the next decision. */
    private readonly rule: DecisionRule
    private decision: boolean | undefined
    /** The automatic rule's own state (hysteresis); differs from `decision` only during an override. */
    private auto: boolean | undefined
    /** An override and the automatic state it was made in: it holds until that state changes. */
    private manual: { ledOn: boolean; auto: boolean | undefined } | undefined
    private commandSeq: number | undefined
    /** By us or by another server's `t` (capped at our clock): readings sent before it are no mismatch. */
    private commandAt: number | undefined
    private commandFailed = false
    private cameOnline = false
    private resyncDue = false
    private readonly readingLink = new ReadingLink()
    private lastLight: number | undefined
    private lastLightAt: number | undefined
    private local: boolean | undefined
    private reportedLed: boolean | undefined
    private online: boolean | undefined

    constructor(rule: DecisionRule) {
        this.rule = rule
    }

    /** A valid reading from the device; `decide` replaces the threshold rule (a group's vote). */
    reading(r: TelemetryPayload, now: number, decide?: Decide): ReadingOutcome {
        const { duplicate, missing, rebooted, stale, at: takenAt } = this.readingLink.receive(r, now)
        let at = takenAt
        if (duplicate) return { duplicate, missing, rebooted, ledOn: this.decision, at, ack: this.ack() }
        const late = now - at > REPEAT_MAX_AGE_MS
        // A reading older than one already decided on (a resent one arriving after a newer one) is stored
        // and acknowledged, but the LED follows the newest light.
        if (stale) return { duplicate, missing, rebooted, ledOn: this.decision, at, ack: this.ack() }
        // Never the time of the reading before: the history keeps one reading per device and ms. The
        // clock estimate moves back when a less delayed reading comes (a replay to a server that did not
        // know the device's clock), and readings a ms apart would then share one time.
        if (this.lastLightAt !== undefined && at <= this.lastLightAt) at = this.lastLightAt + 1
        this.lastLight = r.light
        this.lastLightAt = at
        this.reportedLed = r.led
        this.local = r.local

        // With no decision of our own yet, the LED as it is is the state hysteresis keeps: a restarted
        // server must not flip a LED that sits inside the band.
        const previous = this.auto ?? this.decision ?? r.led
        const auto = decide ? decide(r.light, previous) : this.byThreshold(r.light, previous)
        const outcome: ReadingOutcome = { duplicate, missing, rebooted, ledOn: this.decision, at }
        if (r.seq !== undefined) outcome.ack = this.ack()
        // A member of a group that has not decided yet is not commanded: its own light must not switch
        // it (the stadium's one shaded sensor), and its LED stays as it is until the group decides.
        if (auto === undefined) return outcome
        const ledOn = this.follow(auto)
        outcome.ledOn = ledOn
        const reason = this.commandReason(ledOn, r.led, now, rebooted, late)
        if (reason) {
            outcome.command = this.command(ledOn, now)
            outcome.reason = reason
        }
        return outcome
    }

    /** A decision made without a reading (group vote, settings); a device never heard from gets nothing. */
    decide(auto: boolean, now: number, reason: CommandReason): Decision {
        const ledOn = this.follow(auto)
        if (this.commandSeq === undefined && this.lastLight === undefined) return { ledOn }
        if (this.commandSeq !== undefined && ledOn === this.decision && !this.commandFailed) return { ledOn }
        return { ledOn, command: this.command(ledOn, now), reason }
    }

    /** A person's switch holds until the automatic decision changes, as a wall switch by a motion sensor. */
    override(ledOn: boolean, now: number): Decision {
        this.manual = { ledOn, auto: this.auto ?? this.decision }
        if (ledOn === this.decision && this.commandSeq !== undefined && !this.commandFailed) return { ledOn }
        return { ledOn, command: this.command(ledOn, now, true), reason: "manual" }
    }

    /** The (maybe just changed) threshold rule applied again to the last reading. */
    thresholdDecision(): boolean | undefined {
        return this.lastLight === undefined ? undefined : this.byThreshold(this.lastLight, this.autoState())
    }

    private byThreshold(light: number, previous: boolean | undefined): boolean {
        return decideLedWithBand(light, previous, this.rule.threshold, this.rule.band)
    }

    autoState(): boolean | undefined {
        return this.auto ?? this.decision
    }

    /**
     * A device coming online gets the decision again (the broker may have lost the retained command),
     * but only with its next reading: one rebooted in daylight must not be told the night's "on" first.
     */
    status(s: StatusPayload): { changed: boolean } {
        const was = this.online
        this.online = s === "online"
        if (this.online && was !== true) this.cameOnline = true
        return { changed: was !== this.online }
    }

    /** Reconnected: the broker may have lost retained commands, so the next reading resends the decision. */
    resync(): void {
        if (this.commandSeq !== undefined) this.resyncDue = true
    }

    /**
     * A command seen on the broker: a newer seq is adopted, and being retained needs no resend; the
     * lesson's commands carry no seq and are ignored. Returns whether it was adopted.
     */
    commandSeen(c: CommandPayload, now: number): boolean {
        if (c.seq === undefined) return false
        if (this.commandSeq !== undefined && c.seq <= this.commandSeq) return false
        this.commandSeq = c.seq
        this.commandAt = c.t === undefined ? undefined : Math.min(c.t, now)
        this.cameOnline = false
        this.resyncDue = false
        this.commandFailed = false
        this.decision = c.led_on
        // A person's switch (another server's, or ours before a restart) holds as if made here: until the
        // automatic decision, as it stands now, changes.
        if (c.manual === true) this.manual = { ledOn: c.led_on, auto: this.auto }
        else {
            this.auto = c.led_on
            this.manual = undefined
        }
        return true
    }

    readingsLost(): boolean {
        return this.readingLink.lostAny()
    }

    ackSeen(a: AckPayload): boolean {
        return this.readingLink.ackSeen(a)
    }

    /** undefined before the first ack. */
    link(): LinkState | undefined {
        return this.readingLink.state()
    }

    restore(link: LinkState, now: number): void {
        this.readingLink.restore(link, now)
    }

    /** The broker refused `seq`: resend with the next reading (the lesson's device reports no LED). */
    commandLost(seq: number): void {
        if (seq === this.commandSeq) this.commandFailed = true
    }

    ack(): AckPayload | undefined {
        return this.readingLink.ack()
    }

    /** An override made before any automatic state (a restart) takes the first one as its own. */
    private follow(auto: boolean): boolean {
        this.auto = auto
        if (this.manual && this.manual.auto === undefined) this.manual.auto = auto
        if (this.manual && this.manual.auto === auto) return this.manual.ledOn
        this.manual = undefined
        return auto
    }

    switchedByHand(): boolean {
        return this.manual !== undefined
    }

    snapshot(): DeviceSnapshot {
        return {
            lastLight: this.lastLight,
            lastLightAt: this.lastLightAt,
            ledOn: this.decision,
            manual: this.manual !== undefined,
            commandSeq: this.commandSeq ?? 0,
            ...this.readingLink.snapshot(),
            online: this.online,
            local: this.local,
            reportedLed: this.reportedLed,
        }
    }

    private commandReason(
        ledOn: boolean,
        reported: boolean | undefined,
        now: number,
        rebooted: boolean,
        late: boolean
    ): CommandReason | undefined {
        if (this.commandSeq === undefined) return "first"
        if (ledOn !== this.decision) return "changed"
        // the repeats below wait for a reading taken recently (REPEAT_MAX_AGE_MS); their flags stay set
        if (late) return undefined
        if (this.commandFailed) return "retry"
        if (this.cameOnline) return "online"
        if (this.resyncDue) return "resync"
        if (reported === undefined || reported === ledOn) return undefined
        // A device that just restarted lost its LED: tell it now, whoever sent the last command and when.
        if (rebooted) return "mismatch"
        // A clock that went back counts as time elapsed: better one command too many than none for an hour.
        const since = this.commandAt === undefined ? Infinity : now - this.commandAt
        return since >= (this.rule.mismatchResendMs ?? MISMATCH_RESEND_MS) || since < 0 ? "mismatch" : undefined
    }

    private command(ledOn: boolean, now: number, manual = false): CommandPayload {
        const seq = nextCommandSeq(this.commandSeq, now)
        this.commandSeq = seq
        this.commandAt = now
        this.commandFailed = false
        this.cameOnline = false
        this.resyncDue = false
        this.decision = ledOn
        const command: CommandPayload = { led_on: ledOn, seq, t: Math.floor(now) }
        if (manual) command.manual = true
        return command
    }
}
