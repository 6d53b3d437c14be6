/**
 * At most one call per key per interval, and never a lost last one: the first call runs at once, later
 * calls within the interval collapse into one that runs when it ends (the latest function wins). The
 * server acknowledges readings through it, so a replay of 600 readings costs a handful of acks and the
 * device still gets the one for the last reading.
 */

/** The clock and timers, replaceable in tests. The defaults look the globals up at each call, so vitest's fake timers apply. */
export interface Timers {
    now(): number
    setTimeout(fn: () => void, ms: number): unknown
    clearTimeout(handle: unknown): void
}

export const realTimers: Timers = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: handle => clearTimeout(handle as NodeJS.Timeout),
}

interface Pending {
    handle: unknown
    fn: () => void
}

export class KeyedThrottle {
    /** When each key last ran. One number per key: keys are device ids, a bounded set in practice. */
    private readonly lastRun = new Map<string, number>()
    private readonly pending = new Map<string, Pending>()

    constructor(
        private readonly intervalMs: number,
        private readonly timers: Timers = realTimers
    ) {}

    run(key: string, fn: () => void): void {
        const waiting = this.pending.get(key)
        if (waiting) {
            waiting.fn = fn
            return
        }
        const now = this.timers.now()
        const last = this.lastRun.get(key)
        // A clock that went back counts as the interval having passed.
        if (last === undefined || now - last >= this.intervalMs || now < last) {
            this.lastRun.set(key, now)
            fn()
            return
        }
        const entry: Pending = { handle: undefined, fn }
        entry.handle = this.timers.setTimeout(
            () => {
                this.pending.delete(key)
                this.lastRun.set(key, this.timers.now())
                entry.fn()
            },
            last + this.intervalMs - now
        )
        this.pending.set(key, entry)
    }

    /** Calls waiting for their interval to end. */
    get waiting(): number {
        return this.pending.size
    }

    /** Runs every waiting call now (e.g. before shutting down, so the last acks still go out). */
    flush(): void {
        for (const [key, entry] of [...this.pending]) {
            this.timers.clearTimeout(entry.handle)
            this.pending.delete(key)
            this.lastRun.set(key, this.timers.now())
            entry.fn()
        }
    }

    /** Drops every waiting call. */
    cancel(): void {
        for (const entry of this.pending.values()) this.timers.clearTimeout(entry.handle)
        this.pending.clear()
    }
}
