/** At most one call per key per interval, never losing the last: a 600-reading replay costs a few acks. */

import { type Timers, realTimers } from "./clock"

/** Changed in place: objects made per call reached the old generation, whose collections stalled the server. */
interface KeyState {
    readonly key: string
    lastRun: number
    waiting: ((key: string) => void) | undefined
    handle: unknown
    /** Made once per key. */
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

    /** The latest `fn` wins; `intervalMs` (default the constructor's) counts from this key's last run. */
    run(key: string, fn: (key: string) => void, intervalMs = this.intervalMs): void {
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
        if (now - last >= intervalMs || now < last) {
            state.lastRun = now
            fn(state.key)
            return
        }
        state.waiting = fn
        state.handle = this.timers.setTimeout(state.fire, last + intervalMs - now)
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

    private runWaiting(state: KeyState): void {
        const fn = state.waiting
        if (!fn) return
        state.waiting = undefined
        state.handle = undefined
        this.waitingCount--
        state.lastRun = this.timers.now()
        fn(state.key)
    }

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
