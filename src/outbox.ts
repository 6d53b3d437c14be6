/**
 * Store and forward: readings wait here, in order, until the server acknowledges them. A fixed Buffer
 * of 12-byte records, not an array of objects, so 600 readings cost 7 KB of a small board's heap.
 * When full, the oldest reading is dropped and counted: the newest light matters most.
 */

/** One reading as the device reports it. */
export interface Reading {
    seq: number
    /** Device uptime (ms) when it was read. */
    t: number
    light: number
    led: boolean
    local: boolean
}

const RECORD = 12 // seq u32 @0, t u32 @4, light u16 @8, flags u8 @10 (1 = led, 2 = local), spare @11

/** At 2 s per reading, 600 is 20 minutes of outage. */
export const DEFAULT_OUTBOX_CAPACITY = 600

export class Outbox {
    private readonly records: Buffer
    private head = 0
    private count = 0
    /** How many of the oldest readings were sent on the current connection. */
    private sent = 0
    private lastSeq = 0
    /** Readings dropped because the outbox was full, since boot. */
    dropped = 0

    constructor(readonly capacity: number) {
        this.records = Buffer.alloc(capacity * RECORD)
    }

    size() {
        return this.count
    }

    /** The oldest reading held (not yet acknowledged); the next one to be numbered when none is held. */
    oldestSeq() {
        return this.count > 0 ? this.seqAt(0) : this.lastSeq + 1
    }

    /** Readings waiting to be sent on this connection. */
    unsent() {
        return this.count - this.sent
    }

    /** Stores a new reading with the next sequence number, dropping the oldest when full. */
    add(t: number, light: number, led: boolean, local: boolean): Reading {
        if (this.count === this.capacity) {
            this.head = (this.head + 1) % this.capacity
            this.count--
            if (this.sent > 0) this.sent--
            this.dropped++
        }
        this.lastSeq++
        const at = ((this.head + this.count) % this.capacity) * RECORD
        this.records.setAt(at, "u32", this.lastSeq)
        this.records.setAt(at + 4, "u32", t)
        this.records.setAt(at + 8, "u16", light)
        this.records.setAt(at + 10, "u8", (led ? 1 : 0) | (local ? 2 : 0))
        this.count++
        return this.get(this.count - 1)
    }

    /** Forgets every reading up to and including `seq` (the server's cumulative ack). */
    ack(seq: number): number {
        if (this.count === 0) return 0
        // held readings always carry consecutive numbers, oldest first: no need to look at each
        let removed = seq - this.seqAt(0) + 1
        if (removed <= 0) return 0
        if (removed > this.count) removed = this.count
        this.head = (this.head + removed) % this.capacity
        this.count -= removed
        this.sent = this.sent > removed ? this.sent - removed : 0
        return removed
    }

    /** The next readings not yet sent on this connection, oldest first; marks them sent. */
    takeUnsent(max: number): Reading[] {
        const out: Reading[] = []
        while (this.sent < this.count && out.length < max) {
            out.push(this.get(this.sent))
            this.sent++
        }
        return out
    }

    /** Un-takes the last `n` readings taken (their publish failed), so they are the next ones sent. */
    untake(n: number) {
        this.sent = this.sent > n ? this.sent - n : 0
    }

    /** Everything still held is sent again (after a reconnect, or when acks stopped coming). */
    rewind() {
        this.sent = 0
    }

    /** Forgets all readings (a server that never acks: they were delivered as the lesson does). */
    clearSent() {
        this.ack(this.count > 0 && this.sent > 0 ? this.seqAt(this.sent - 1) : 0)
    }

    private seqAt(i: number): number {
        return this.records.getAt(((this.head + i) % this.capacity) * RECORD, "u32")
    }

    private get(i: number): Reading {
        const at = ((this.head + i) % this.capacity) * RECORD
        const flags = this.records.getAt(at + 10, "u8")
        return {
            seq: this.records.getAt(at, "u32"),
            t: this.records.getAt(at + 4, "u32"),
            light: this.records.getAt(at + 8, "u16"),
            led: (flags & 1) !== 0,
            local: (flags & 2) !== 0,
        }
    }
}
