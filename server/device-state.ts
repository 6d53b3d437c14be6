/**
 * What the server knows about one device, and the rules that turn a reading into a decision, an ack and
 * maybe a command (README "Wire protocol"). Pure: no I/O and no clock; `now` (ms since 1970) comes in,
 * so every rule is tested without a broker (test/device-state.test.ts).
 *
 * The state is also rebuilt from the broker's retained messages after a restart (commandSeen, ackSeen,
 * status): those calls are idempotent, because the server's own publications come back the same way.
 */
import {
    decideLedWithBand,
    nextCommandSeq,
    type AckPayload,
    type CommandPayload,
    type StatusPayload,
    type TelemetryPayload,
} from "./protocol"

/**
 * A device that keeps reporting an LED other than the decision gets the command again at most this
 * often (ms). It also covers the command in flight: readings sent before it arrived show the old LED.
 */
export const MISMATCH_RESEND_MS = 2000

/**
 * A reading taken longer ago than this (ms, on the server's clock) sends no repeat of the decision
 * ("online", "resync", "retry", "mismatch"): it comes from the device's outbox after an outage, and the
 * LED it reports is history. Repeating the decision it calls for switched a LED that the device had
 * turned on by itself in the dark off again, before the newer readings behind it turned it back on
 * (the real firmware after a 30 s outage: "LED off", then "LED on" a moment later). The repeat waits for
 * a reading taken recently. A change of decision is still sent at once, however late the reading:
 * under overload every reading is late, and each crossing must still get its command.
 */
export const REPEAT_MAX_AGE_MS = 2000

/** Out-of-order readings kept per device while waiting for the ones before them. */
const MAX_PENDING = 5000

export interface DecisionRule {
    threshold: number
    band: number
    /** Defaults to MISMATCH_RESEND_MS. */
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
 * The default is the threshold with its band; a group's vote replaces it for the group's members, and
 * undefined (a group without enough voters) falls back to the default.
 */
export type Decide = (light: number, previous: boolean | undefined) => boolean | undefined

export interface LinkState {
    boot: string
    acked: number
    clockOffset: number | null
}

/** A decision made without a reading of this device: maybe a command to send. */
export interface Decision {
    ledOn: boolean
    command?: CommandPayload
    reason?: CommandReason
}

/**
 * A device clock may run this much slower than the server's (a fraction: 1000 ppm) before the readings'
 * times lag; late (replayed) readings must not move the estimate, and they arrive seconds late.
 */
const CLOCK_DRIFT = 0.001

export interface ReadingOutcome {
    /** Seen before (same boot, seq not above the highest): counted, acknowledged, not decided on again. */
    duplicate: boolean
    /** Readings of this boot that never arrived before this one (added to `gaps`). */
    missing: number
    /** The first reading of a new boot of a device whose earlier boot the server knew. */
    rebooted: boolean
    /** The decision after this reading; undefined only for a duplicate arriving before any decision. */
    ledOn: boolean | undefined
    /**
     * When the reading was taken (ms since 1970, server clock): from the device's uptime `t` when it sent
     * one (a reading resent after an outage keeps its time), else when it arrived.
     */
    at: number
    /** Set when the reading carried seq and boot: it is to be acknowledged. */
    ack?: AckPayload
    command?: CommandPayload
    reason?: CommandReason
}

/** A copy of the state, for tests and dashboards. Sequence numbers are 0 when there is none yet. */
export interface DeviceSnapshot {
    lastLight: number | undefined
    /** When the last reading was taken (see ReadingOutcome.at). */
    lastLightAt: number | undefined
    /** The server's decision. */
    ledOn: boolean | undefined
    /** A person switched the LED (override) and the automatic decision has not changed since. */
    manual: boolean
    /** Sequence number of the last command (sent, or rebuilt from the retained one). */
    commandSeq: number
    boot: string | undefined
    /** Highest reading sequence number of `boot` seen (or acknowledged before a restart). */
    lastSeq: number
    /** Every reading of `boot` up to this one is stored (or known lost): the last ack. */
    acked: number
    /** Readings received again (already seen or acknowledged). */
    duplicates: number
    /** Readings the server never received: numbers skipped in a boot's sequence. */
    gaps: number
    /** Readings the device itself discarded (its outbox was full), as it last reported. */
    dropped: number
    /** From `<id>/status`; undefined until the device (or its will) said anything. */
    online: boolean | undefined
    /** Whether the device was deciding by itself, as it last reported. */
    local: boolean | undefined
    /** The LED as the device last reported it. */
    reportedLed: boolean | undefined
}

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
    private boot: string | undefined
    /** Highest reading number of `boot` seen. */
    private lastSeq = 0
    /** Every reading of `boot` up to this one arrived (or is known lost): what the ack says. */
    private acked = 0
    /** Readings above `acked` that arrived out of order (after a gap the device is still to fill). */
    private readonly received = new Set<number>()
    private duplicates = 0
    private gaps = 0
    private dropped = 0
    private lastLight: number | undefined
    private lastLightAt: number | undefined
    /** Server time minus device uptime for the current boot (the smallest seen, allowing for drift). */
    private clockOffset: number | undefined
    private clockOffsetAt = 0
    private local: boolean | undefined
    private reportedLed: boolean | undefined
    private online: boolean | undefined

    constructor(rule: DecisionRule) {
        this.rule = rule
    }

    /** A valid reading from the device; `decide` replaces the threshold rule (a group's vote). */
    reading(r: TelemetryPayload, now: number, decide?: Decide): ReadingOutcome {
        let missing = 0
        let rebooted = false
        let stale = false
        if (r.seq !== undefined && r.boot !== undefined) {
            // Without "oldest" (a device that does not say what it still holds) every reading settles
            // all before it, as if the device held nothing older.
            const oldest = r.oldest ?? r.seq
            if (r.boot !== this.boot) {
                // Numbers start at 1 with each boot. Only for a device we knew do the readings before the
                // device's oldest count as missing: a server that has just started cannot tell a reading it
                // never received from one a previous server stored.
                rebooted = this.boot !== undefined
                if (rebooted) missing = oldest - 1
                this.boot = r.boot
                this.received.clear()
                this.acked = oldest - 1
                this.lastSeq = 0
                this.clockOffset = undefined
            } else if (r.seq <= this.acked || this.received.has(r.seq)) {
                this.duplicates++
                const at = this.timeOf(r, now)
                return { duplicate: true, missing: 0, rebooted: false, ledOn: this.decision, at, ack: this.ack() }
            } else if (oldest - 1 > this.acked) {
                // the device no longer holds the readings below `oldest`: those we lack are lost for good
                missing = this.settle(oldest - 1)
            }
            this.received.add(r.seq)
            missing += this.advance()
            stale = r.seq < this.lastSeq
            if (!stale) this.lastSeq = r.seq
            this.gaps += missing
        }
        let at = this.timeOf(r, now)
        const late = now - at > REPEAT_MAX_AGE_MS
        // A reading older than one already decided on (a resent one arriving after a newer one) is stored
        // and acknowledged, but the LED follows the newest light.
        if (stale) return { duplicate: false, missing, rebooted, ledOn: this.decision, at, ack: this.ack() }
        // Never the time of the reading before: the history keeps one reading per device and ms. The
        // clock estimate moves back when a less delayed reading comes (a replay to a server that did not
        // know the device's clock), and readings a ms apart would then share one time.
        if (this.lastLightAt !== undefined && at <= this.lastLightAt) at = this.lastLightAt + 1
        this.lastLight = r.light
        this.lastLightAt = at
        this.reportedLed = r.led
        this.local = r.local
        if (r.dropped !== undefined) this.dropped = r.dropped

        // With no decision of our own yet, the LED as it is is the state hysteresis keeps: a restarted
        // server must not flip a LED that sits inside the band.
        const previous = this.auto ?? this.decision ?? r.led
        const auto = decide?.(r.light, previous) ?? this.byThreshold(r.light, previous)
        const ledOn = this.follow(auto)
        const reason = this.commandReason(ledOn, r.led, now, rebooted, late)
        const outcome: ReadingOutcome = { duplicate: false, missing, rebooted, ledOn, at }
        if (r.seq !== undefined) outcome.ack = this.ack()
        if (reason) {
            outcome.command = this.command(ledOn, now)
            outcome.reason = reason
        }
        return outcome
    }

    /**
     * A decision made without a reading of this device: its group's vote changed, or the settings did
     * (then `auto` is the rule applied to the last reading). A device never commanded gets nothing: its
     * first reading brings its first command.
     */
    decide(auto: boolean, now: number, reason: CommandReason): Decision {
        const ledOn = this.follow(auto)
        if (this.commandSeq === undefined || (ledOn === this.decision && !this.commandFailed)) return { ledOn }
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

    /**
     * An ack on `<id>/acks`: the retained one after a restart (readings up to it are duplicates if they
     * come again), or our own coming back. Only fills in a device we know nothing of, or moves its own
     * boot forward; which of two boots is the newer one cannot be told, and the readings decide that.
     */
    ackSeen(a: AckPayload): boolean {
        if (this.boot === undefined) {
            this.boot = a.boot
            this.acked = a.seq
            this.lastSeq = a.seq
            return true
        }
        if (a.boot !== this.boot || a.seq <= this.acked) return false
        this.settle(a.seq)
        this.advance()
        this.lastSeq = Math.max(this.lastSeq, this.acked)
        return true
    }

    /**
     * Where the link stands for the store (saved with each ack): the boot, the readings acknowledged
     * and the device's clock. Undefined before the first ack.
     */
    link(): LinkState | undefined {
        const ack = this.ack()
        return ack && { boot: ack.boot, acked: ack.seq, clockOffset: this.clockOffset ?? null }
    }

    /**
     * The link as the store saved it before a restart: readings up to `acked` are duplicates if they come
     * again, and a resent reading keeps its time. Like a retained ack, it only fills in a device we know
     * nothing of.
     */
    restore(link: LinkState, now: number): void {
        if (this.boot !== undefined) return
        this.ackSeen({ boot: link.boot, seq: link.acked })
        if (link.clockOffset !== null) {
            this.clockOffset = link.clockOffset
            this.clockOffsetAt = now
        }
    }

    /**
     * The broker did not take command `seq`. The next reading sends the decision again: the lesson's
     * device reports no LED, so nothing else would repair it before the decision changes.
     */
    commandLost(seq: number): void {
        if (seq === this.commandSeq) this.commandFailed = true
    }

    /**
     * The ack to publish now: every reading of the current boot up to it is stored. Only contiguous
     * readings are acknowledged, so a reading that went missing (sent while the server was down) stays
     * in the device's outbox and is sent again.
     */
    ack(): AckPayload | undefined {
        return this.boot !== undefined && this.acked > 0 ? { boot: this.boot, seq: this.acked } : undefined
    }

    /** Moves `acked` up to `seq`, forgetting what arrived below it; returns how many never arrived. */
    private settle(seq: number): number {
        let arrived = 0
        for (const s of this.received)
            if (s <= seq) {
                arrived++
                this.received.delete(s)
            }
        const missing = seq - this.acked - arrived
        this.acked = seq
        return missing
    }

    /** Moves `acked` over readings that arrived in order; bounds what out-of-order arrivals may hold. */
    private advance(): number {
        while (this.received.delete(this.acked + 1)) this.acked++
        // a device holds at most a few thousand readings; more pending ones mean a broken or hostile client
        if (this.received.size <= MAX_PENDING) return 0
        return this.settle(Math.max(...this.received))
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

    /** When a reading was taken: its uptime `t` on the server's clock, from the least delayed reading. */
    private timeOf(r: TelemetryPayload, now: number): number {
        if (r.t === undefined) return now
        const observed = now - r.t
        const allowed =
            this.clockOffset === undefined ? Infinity : this.clockOffset + (now - this.clockOffsetAt) * CLOCK_DRIFT
        // whole ms: the drift allowance makes fractions, and the history stores integer ms
        this.clockOffset = Math.floor(Math.min(observed, allowed))
        this.clockOffsetAt = now
        return Math.min(Math.floor(now), r.t + this.clockOffset)
    }

    snapshot(): DeviceSnapshot {
        return {
            lastLight: this.lastLight,
            lastLightAt: this.lastLightAt,
            ledOn: this.decision,
            manual: this.manual !== undefined,
            commandSeq: this.commandSeq ?? 0,
            boot: this.boot,
            lastSeq: this.lastSeq,
            acked: this.acked,
            duplicates: this.duplicates,
            gaps: this.gaps,
            dropped: this.dropped,
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
