/**
 * What the device knows about its server, as pure state with time passed in (tested in
 * link-state.test.ts): is the server speaking (else the device decides locally), which command came
 * last (older ones are stale), does the server acknowledge readings, and when to send unacknowledged
 * readings again.
 */

/**
 * First wait before unacknowledged readings are sent again (ms); doubles up to RESEND_MAX_MS. Well above
 * the longest a server waits between two acks to a device (4 s, ACK_MAX_INTERVAL_MS in the server).
 */
export const RESEND_MIN_MS = 10000
export const RESEND_MAX_MS = 60000

export class LinkState {
    private lastHeard: number
    private lastCommandSeq = 0
    /** True once any ack came: this server stores readings, so they are kept until acknowledged. */
    acking = false
    private resendAt: number
    private resendWait = RESEND_MIN_MS

    constructor(
        now: number,
        private localAfterMs: number
    ) {
        // a fresh device gives the server the same grace as a silent one
        this.lastHeard = now
        this.resendAt = now + RESEND_MIN_MS
    }

    /** Any message from the server: an ack or a command. */
    heard(now: number) {
        this.lastHeard = now
    }

    /** A new silence timeout from the server's config: it counts from the last word heard, as before. */
    setLocalAfter(ms: number) {
        this.localAfterMs = ms
    }

    /** True when the server has been silent too long: the device then switches its LED itself. */
    isLocal(now: number): boolean {
        return now - this.lastHeard > this.localAfterMs
    }

    /**
     * Whether a command may be applied: the lesson's commands (seq 0) always; ours only when newer
     * than the last one applied, so a stale retained or replayed command never undoes a newer one.
     */
    acceptCommand(seq: number): boolean {
        if (seq === 0) return true
        if (seq <= this.lastCommandSeq) return false
        this.lastCommandSeq = seq
        return true
    }

    lastCommand() {
        return this.lastCommandSeq
    }

    /**
     * An ack came. Only one that moved the outbox forward restarts the short wait: a server that keeps
     * acknowledging the same reading lacks the next one, which must then go again soon.
     */
    acked(now: number, moved: boolean) {
        this.acking = true
        if (!moved) return
        this.resendWait = RESEND_MIN_MS
        this.resendAt = now + RESEND_MIN_MS
    }

    /** True when unacknowledged readings should go again (then backs off: 10 s, 20 s, 40 s, 60 s). */
    resendDue(now: number): boolean {
        if (now < this.resendAt) return false
        this.resendWait = this.resendWait * 2 > RESEND_MAX_MS ? RESEND_MAX_MS : this.resendWait * 2
        this.resendAt = now + this.resendWait
        return true
    }
}
