/** The defaults look the globals up at each call, so vitest's fake timers apply. */
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
