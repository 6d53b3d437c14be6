/**
 * What the server knows about one device, and the rules that turn a reading into a decision, an ack and
 * maybe a command (README "Wire protocol"): the LED by the threshold and band (or a group's vote), a
 * person's override, and when to send. Pure: `now` comes in. Sequence and clock are reading-link.ts's.
 * Rebuilding from retained messages (commandSeen, ackSeen, status) is idempotent, because the server's
 * own publications come back the same way.
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

/**
 * A device that keeps reporting an LED other than the decision gets the command again at most this
 * often (ms). It also covers the command in flight: readings sent before it arrived show the old LED.
 */
export const MISMATCH_RESEND_MS = 2000

/**
 * A reading taken longer ago than this (ms, on the server's clock) sends no repeat of the decision
 * ("online", "resync", "retry", "mismatch"): it comes from the device's outbox after an outage, and the
 * LED it reports is history; repeating on it would flip a LED the device had set by itself. A change of
 * decision is still sent at once, however late the reading: under overload every reading is late.
 */
export const REPEAT_MAX_AGE_MS = 2000

export class DeviceState {
    /** Shared with the server, not copied: new settings apply to the next decision. */
    private readonly rule: DecisionRule
    /** The LED state commanded (or adopted from the broker). */
    private decision: boolean | undefined
    /** The automatic rule's own state (hysteresis); differs from `decision` only during an override. */
    private auto: boolean | undefined
    /** An override and the automatic state it was made in: it holds until that state changes. */
    private manual: { ledOn: boolean; auto: boolean | undefined } | undefined
    private commandSeq: number | undefined
    /**
     * When the last command was sent: by this server, or by another as its `t` says (never later than
     * our clock), so a device's next reading, sent before that command arrived, is not a "mismatch".
     */
    private commandAt: number | undefined
    /** The last command never reached the broker (an outage): the next reading sends it again. */
    private commandFailed = false
    /** The device came online: its next reading sends the decision even if unchanged. */
    private cameOnline = false
    /** We came back to a broker that may have lost its retained messages: same, for every device. */
    private resyncDue = false
    /** The readings' sequence, their acks and the device's clock. */
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

    /**
     * A decision made without a reading of this device: its group's vote changed, or the settings did
     * (then `auto` is the rule applied to the last reading). A device never heard from and never
     * commanded gets nothing: its first reading brings its first command. One that reported while its
     * group had no decision gets the group's first decision now.
     */
    decide(auto: boolean, now: number, reason: CommandReason): Decision {
        const ledOn = this.follow(auto)
        if (this.commandSeq === undefined && this.lastLight === undefined) return { ledOn }
        if (this.commandSeq !== undefined && ledOn === this.decision && !this.commandFailed) return { ledOn }
        return { ledOn, command: this.command(ledOn, now), reason }
    }

    /**
     * A person switches the LED. It stays so until the automatic decision changes (as a wall switch
     * beside a motion sensor would): dusk after a manual "off" in daylight still turns it on.
     */
    override(ledOn: boolean, now: number): Decision {
        this.manual = { ledOn, auto: this.auto ?? this.decision }
        if (ledOn === this.decision && this.commandSeq !== undefined && !this.commandFailed) return { ledOn }
        return { ledOn, command: this.command(ledOn, now, true), reason: "manual" }
    }

    /**
     * The threshold and band (the shared rule, maybe just changed) applied again to the last reading;
     * undefined before any reading.
     */
    thresholdDecision(): boolean | undefined {
        return this.lastLight === undefined ? undefined : this.byThreshold(this.lastLight, this.autoState())
    }

    private byThreshold(light: number, previous: boolean | undefined): boolean {
        return decideLedWithBand(light, previous, this.rule.threshold, this.rule.band)
    }

    /** The automatic rule's state for hysteresis (a group's vote reads it). */
    autoState(): boolean | undefined {
        return this.auto ?? this.decision
    }

    /**
     * `<id>/status`. A device that comes online (from offline or unknown) gets the decision again, in
     * case the broker lost the retained command (a broker restarted without persistence); but only
     * with its next reading, decided on the light now: a device that rebooted in daylight must not be
     * told the night's "on" first. Returns whether the device's status changed.
     */
    status(s: StatusPayload): { changed: boolean } {
        const was = this.online
        this.online = s === "online"
        if (this.online && was !== true) this.cameOnline = true
        return { changed: was !== this.online }
    }

    /**
     * The server reconnected to its broker. A broker that restarted without persistence has lost the
     * retained commands, and a device that rebooted meanwhile (the lesson's device reports no `led` to
     * repair it by) would wait for the next change of decision: the next reading sends it again.
     */
    resync(): void {
        if (this.commandSeq !== undefined) this.resyncDue = true
    }

    /**
     * A command on `<id>/commands`: the retained one after a restart, our own coming back, or another
     * server's. A newer one is adopted (decision and sequence); an older or equal one changes nothing.
     * The lesson's commands carry no seq and cannot be ordered: ignored. Returns whether it was adopted.
     * An adopted command is retained on the broker now, so the device has its LED state: no need to
     * send it again when the device comes online or we reconnect (another server of a share group did).
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

    /** See ReadingLink.lost. */
    readingsLost(): number {
        return this.readingLink.lost()
    }

    /** An ack on `<id>/acks` (retained, or our own coming back): see ReadingLink.ackSeen. */
    ackSeen(a: AckPayload): boolean {
        return this.readingLink.ackSeen(a)
    }

    /** Where the link stands for the store (saved with each ack); undefined before the first ack. */
    link(): LinkState | undefined {
        return this.readingLink.state()
    }

    /** The link as the store saved it before a restart: see ReadingLink.restore. */
    restore(link: LinkState, now: number): void {
        this.readingLink.restore(link, now)
    }

    /**
     * The broker did not take command `seq`. The next reading sends the decision again: the lesson's
     * device reports no LED, so nothing else would repair it before the decision changes.
     */
    commandLost(seq: number): void {
        if (seq === this.commandSeq) this.commandFailed = true
    }

    /** The ack to publish now: every reading of the current boot up to it is stored. */
    ack(): AckPayload | undefined {
        return this.readingLink.ack()
    }

    /**
     * The automatic decision; an override wins until the automatic decision changes. An override made
     * before this server had an automatic state (a restart) takes the first one as the one it was made in.
     */
    private follow(auto: boolean): boolean {
        this.auto = auto
        if (this.manual && this.manual.auto === undefined) this.manual.auto = auto
        if (this.manual && this.manual.auto === auto) return this.manual.ledOn
        this.manual = undefined
        return auto
    }

    /** A person's switch holds the LED (until the automatic decision next changes). */
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
