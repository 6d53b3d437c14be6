/**
 * At most one call per key per interval, and never a lost last one: the first call runs at once, later
 * calls within the interval collapse into one that runs when it ends (the latest function wins). The
 * server acknowledges readings through it, so a replay of 600 readings costs a handful of acks and the
 * device still gets the one for the last reading.
 */

import { type Timers, realTimers } from "./clock"

/**
 * One key's state, changed in place: a call makes no new object (no boxed timestamp in a Map, no closure
 * per call). Under load every key waits most of the time, each for up to the interval: objects made per
 * call lived long enough to be promoted to the old generation, whose collections then stalled the server.
 */
interface KeyState {
    /** The key as first given: a string that lives as long as the state, handed to the calls. */
    readonly key: string
    /** When the key last ran (timers.now()). */
    lastRun: number
    /** The call waiting for the interval to end (the latest one given). */
    waiting: ((key: string) => void) | undefined
    handle: unknown
    /** Runs the waiting call at the end of the interval; made once per key. */
    readonly fire: () => void
}

export class KeyedThrottle {
    /** One small object per key: keys are device ids, a bounded set in practice. */
    private readonly keys = new Map<string, KeyState>()
    private waitingCount = 0

    constructor(
        private readonly intervalMs: number,
        private readonly timers: Timers = realTimers
    ) {}

    /** Runs `fn(key)` now, or at the end of the key's interval if it ran within it (the latest `fn` wins). */
    run(key: string, fn: (key: string) => void): void {
        const state = this.keys.get(key)
        if (state?.waiting) {
            state.waiting = fn
            return
        }
        const now = this.timers.now()
        if (!state) {
            this.keys.set(key, this.newState(key, now))
            fn(key)
            return
        }
        const last = state.lastRun
        // A clock that went back counts as the interval having passed.
        if (now - last >= this.intervalMs || now < last) {
            state.lastRun = now
            fn(state.key)
            return
        }
        state.waiting = fn
        state.handle = this.timers.setTimeout(state.fire, last + this.intervalMs - now)
        this.waitingCount++
    }

    private newState(key: string, now: number): KeyState {
        const state: KeyState = {
            key,
            lastRun: now,
            waiting: undefined,
            handle: undefined,
            fire: () => this.runWaiting(state),
        }
        return state
    }

    /** The waiting call of `state`, now (its timer fired, or flush()). */
    private runWaiting(state: KeyState): void {
        const fn = state.waiting
        if (!fn) return
        state.waiting = undefined
        state.handle = undefined
        this.waitingCount--
        state.lastRun = this.timers.now()
        fn(state.key)
    }

    /** Calls waiting for their interval to end. */
    get waiting(): number {
        return this.waitingCount
    }

    /** Runs every waiting call now (e.g. before shutting down, so the last acks still go out). */
    flush(): void {
        const due = [...this.keys.values()].filter(state => state.waiting !== undefined)
        for (const state of due) {
            if (!state.waiting) continue // run by an earlier one's call
            this.timers.clearTimeout(state.handle)
            this.runWaiting(state)
        }
    }

    /** Drops every waiting call. */
    cancel(): void {
        for (const state of this.keys.values()) {
            if (!state.waiting) continue
            this.timers.clearTimeout(state.handle)
            state.waiting = undefined
            state.handle = undefined
        }
        this.waitingCount = 0
    }
}
