/**
 * The reliable link of one device's readings (README "Wire protocol"): which readings of its boot arrived,
 * were acknowledged, came twice or never, and the device's clock, so a resent reading keeps the time it
 * was taken. Pure: `now` (ms since 1970) comes in. Rebuilt after a restart from the retained ack
 * (ackSeen) or the store (restore), both idempotent: they only fill in a device the server does not know.
 */
import type { AckPayload, TelemetryPayload } from "../protocol/contract"

/** Out-of-order readings kept per device while waiting for the ones before them. */
const MAX_PENDING = 5000

/**
 * A device clock may run this much slower than the server's (a fraction: 1000 ppm) before the readings'
 * times lag; late (replayed) readings must not move the estimate, and they arrive seconds late.
 */
const CLOCK_DRIFT = 0.001

/** Where the link stands, as the store saves it with each ack. */
export interface LinkState {
    boot: string
    acked: number
    clockOffset: number | null
}

/** What the link made of one reading. */
export interface Arrival {
    /** Seen before (same boot, seq not above the highest): counted, acknowledged, not decided on again. */
    duplicate: boolean
    /** Readings of this boot that never arrived before this one (added to `gaps`). */
    missing: number
    /** The first reading of a new boot of a device whose earlier boot the server knew. */
    rebooted: boolean
    /**
     * Older than one already seen (a resent one arriving after a newer one): stored and acknowledged,
     * but the LED follows the newest light.
     */
    stale: boolean
    /**
     * When the reading was taken (ms since 1970, server clock): from the device's uptime `t` when it sent
     * one (a reading resent after an outage keeps its time), else when it arrived.
     */
    at: number
}

/** The link's counters, for tests and dashboards. Sequence numbers are 0 when there is none yet. */
export interface LinkSnapshot {
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
}

export class ReadingLink {
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
    /** Server time minus device uptime for the current boot (the smallest seen, allowing for drift). */
    private clockOffset: number | undefined
    private clockOffsetAt = 0

    /** A valid reading from the device: where it stands in its boot's sequence, and when it was taken. */
    receive(r: TelemetryPayload, now: number): Arrival {
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
                return { duplicate: true, missing: 0, rebooted: false, stale: false, at: this.timeOf(r, now) }
            } else if (oldest - 1 > this.acked) {
                // the device no longer holds the readings below `oldest`: those we lack are lost for good
                missing = this.settle(oldest - 1)
            }
            // The usual case, the next reading in order with none out of order waiting, leaves the Set
            // alone: adding and deleting its one element makes V8 reallocate its table each time, and the
            // tables, held by a long-lived Set, get promoted to the old generation.
            if (r.seq === this.acked + 1 && this.received.size === 0) this.acked = r.seq
            else {
                this.received.add(r.seq)
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

    /**
     * The ack to publish now: every reading of the current boot up to it is stored. Only contiguous
     * readings are acknowledged, so a reading that went missing (sent while the server was down) stays
     * in the device's outbox and is sent again.
     */
    ack(): AckPayload | undefined {
        return this.boot !== undefined && this.acked > 0 ? { boot: this.boot, seq: this.acked } : undefined
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
    state(): LinkState | undefined {
        const ack = this.ack()
        return ack && { boot: ack.boot, acked: ack.seq, clockOffset: this.clockOffset ?? null }
    }

    /** Readings lost: never received (gaps) and discarded by the device (as it last reported); no copy made. */
    lost(): number {
        return this.gaps + this.dropped
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
