/**
 * One device's reliable link (README "Wire protocol"): which readings of its boot arrived, and its
 * clock, so a resent reading keeps its time. Pure: `now` (ms since 1970) comes in. Rebuilding from
 * the retained ack or the store only fills in a device the server does not know.
 */
import type { AckPayload, TelemetryPayload } from "../protocol/contract"

/** Out-of-order readings kept per device while waiting for the ones before them. */
const MAX_PENDING = 5000

/** Allowed device clock drift (fraction: 1000 ppm), so late replayed readings do not move the estimate. */
const CLOCK_DRIFT = 0.001

export interface LinkState {
    boot: string
    acked: number
    clockOffset: number | null
}

export interface Arrival {
    duplicate: boolean
    missing: number
    rebooted: boolean
    /** Older than one already seen: stored and acknowledged, but the LED follows the newest light. */
    stale: boolean
    /** When taken (ms since 1970, server clock): from the device's uptime `t`, else arrival. */
    at: number
}

/** Sequence numbers are 0 when there is none yet. */
export interface LinkSnapshot {
    boot: string | undefined
    lastSeq: number
    acked: number
    duplicates: number
    gaps: number
    dropped: number
}

export class ReadingLink {
    private boot: string | undefined
    private lastSeq = 0
    private acked = 0
    /** Out-of-order arrivals above `acked`; made on the first, as most devices never have one. */
    private received: Set<number> | undefined
    private duplicates = 0
    private gaps = 0
    private dropped = 0
    /** Server time minus device uptime (the smallest seen, allowing for drift). */
    private clockOffset: number | undefined
    private clockOffsetAt = 0

    receive(r: TelemetryPayload, now: number): Arrival {
        let missing = 0
        let rebooted = false
        let stale = false
        if (r.seq !== undefined && r.boot !== undefined) {
            // Without "oldest" (a device that does not say what it still holds) every reading settles
            // all before it, as if the device held nothing older.
            const oldest = r.oldest ?? r.seq
            if (r.boot !== this.boot) {
                // Only for a device we knew do readings before `oldest` count as missing: a fresh server
                // cannot tell one it never received from one a previous server stored.
                rebooted = this.boot !== undefined
                if (rebooted) missing = oldest - 1
                this.boot = r.boot
                this.received?.clear()
                this.acked = oldest - 1
                this.lastSeq = 0
                this.clockOffset = undefined
            } else if (r.seq <= this.acked || this.received?.has(r.seq)) {
                this.duplicates++
                return { duplicate: true, missing: 0, rebooted: false, stale: false, at: this.timeOf(r, now) }
            } else if (oldest - 1 > this.acked) {
                // the device no longer holds the readings below `oldest`: those we lack are lost for good
                missing = this.settle(oldest - 1)
            }
            // The in-order case leaves the Set alone: add+delete of one element makes V8 reallocate its
            // table each time, and those tables get promoted to the old generation.
            if (r.seq === this.acked + 1 && !this.received?.size) this.acked = r.seq
            else {
                ;(this.received ??= new Set()).add(r.seq)
                missing += this.advance()
            }
            stale = r.seq < this.lastSeq
            if (!stale) this.lastSeq = r.seq
            this.gaps += missing
        }
        // a stale reading's count is older than the one already taken
        if (!stale && r.dropped !== undefined) this.dropped = r.dropped
        return { duplicate: false, missing, rebooted, stale, at: this.timeOf(r, now) }
    }

    /** Only contiguous readings are acknowledged, so a missing one stays in the device's outbox. */
    ack(): AckPayload | undefined {
        return this.boot !== undefined && this.acked > 0 ? { boot: this.boot, seq: this.acked } : undefined
    }

    /** Fills in an unknown device or moves its boot forward; which of two boots is newer, readings decide. */
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

    state(): LinkState | undefined {
        const ack = this.ack()
        return ack && { boot: ack.boot, acked: ack.seq, clockOffset: this.clockOffset ?? null }
    }

    /**
     * Whether readings were lost: some never received (gaps), or discarded by the device (as it last
     * reported). Not a count: a reading the device discarded and the server never got is in both.
     */
    lostAny(): boolean {
        return this.gaps > 0 || this.dropped > 0
    }

    /** Like a retained ack, only fills in a device we know nothing of. */
    restore(link: LinkState, now: number): void {
        if (this.boot !== undefined) return
        this.ackSeen({ boot: link.boot, seq: link.acked })
        if (link.clockOffset !== null) {
            this.clockOffset = link.clockOffset
            this.clockOffsetAt = now
        }
    }

    snapshot(): LinkSnapshot {
        return {
            boot: this.boot,
            lastSeq: this.lastSeq,
            acked: this.acked,
            duplicates: this.duplicates,
            gaps: this.gaps,
            dropped: this.dropped,
        }
    }

    /** Moves `acked` up to `seq`, forgetting what arrived below it; returns how many never arrived. */
    private settle(seq: number): number {
        let arrived = 0
        const received = this.received
        if (received)
            for (const s of received)
                if (s <= seq) {
                    arrived++
                    received.delete(s)
                }
        const missing = seq - this.acked - arrived
        this.acked = seq
        return missing
    }

    /** Moves `acked` over readings that arrived in order; bounds what out-of-order arrivals may hold. */
    private advance(): number {
        const received = this.received
        if (!received) return 0
        while (received.delete(this.acked + 1)) this.acked++
        // a device holds at most a few thousand readings; more pending ones mean a broken or hostile client
        if (received.size <= MAX_PENDING) return 0
        return this.settle(Math.max(...received))
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
}
