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

/** One key's state, changed in place: a call makes no new object (no boxed timestamp in a Map either). */
interface KeyState {
    /** When the key last ran (timers.now()). */
    lastRun: number
    /** The call waiting for the interval to end. */
    waiting: Pending | undefined
}

export class KeyedThrottle {
    /** One small object per key: keys are device ids, a bounded set in practice. */
    private readonly keys = new Map<string, KeyState>()
    private waitingCount = 0

    constructor(
        private readonly intervalMs: number,
        private readonly timers: Timers = realTimers
    ) {}

    run(key: string, fn: () => void): void {
        const state = this.keys.get(key)
        if (state?.waiting) {
            state.waiting.fn = fn
            return
        }
        const now = this.timers.now()
        if (!state) {
            this.keys.set(key, { lastRun: now, waiting: undefined })
            fn()
            return
        }
        const last = state.lastRun
        // A clock that went back counts as the interval having passed.
        if (now - last >= this.intervalMs || now < last) {
            state.lastRun = now
            fn()
            return
        }
        const entry: Pending = { handle: undefined, fn }
        entry.handle = this.timers.setTimeout(
            () => {
                state.waiting = undefined
                this.waitingCount--
                state.lastRun = this.timers.now()
                entry.fn()
            },
            last + this.intervalMs - now
        )
        state.waiting = entry
        this.waitingCount++
    }

    /** Calls waiting for their interval to end. */
    get waiting(): number {
        return this.waitingCount
    }

    /** Runs every waiting call now (e.g. before shutting down, so the last acks still go out). */
    flush(): void {
        const due = [...this.keys.values()].filter(state => state.waiting !== undefined)
        for (const state of due) {
            const entry = state.waiting
            if (!entry) continue // run by an earlier one's call
            this.timers.clearTimeout(entry.handle)
            state.waiting = undefined
            this.waitingCount--
            state.lastRun = this.timers.now()
            entry.fn()
        }
    }

    /** Drops every waiting call. */
    cancel(): void {
        for (const state of this.keys.values()) {
            if (!state.waiting) continue
            this.timers.clearTimeout(state.waiting.handle)
            state.waiting = undefined
        }
        this.waitingCount = 0
    }
}
