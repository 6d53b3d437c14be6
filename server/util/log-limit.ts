/** Log lines a client can cause, limited per key, so a flood cannot fill the disk or bury what matters. */
import { realTimers, type Timers } from "./clock"

export interface LogLimitOptions {
    linesPerWindow: number
    /** ms; a key's window starts with its first line. */
    windowMs: number
    /** Beyond it the idlest is forgotten (its summary written first). */
    maxKeys: number
}

export const DEFAULT_LOG_LIMIT: Readonly<LogLimitOptions> = {
    linesPerWindow: 10, // lines per key per window
    windowMs: 60_000, // ms
    maxKeys: 1000, // keys
}

/** Called once per window in which lines of `key` were held back; `spanMs`: how long that window ran. */
export type SummaryWriter = (key: string, suppressed: number, spanMs: number) => void

interface Window {
    start: number
    passed: number
    suppressed: number
    timer?: unknown
}

/** "suppressed 9990 similar lines in the last 60 s": the words every summary ends with. */
export function suppressedText(suppressed: number, spanMs: number): string {
    const span = spanMs >= 1000 ? `${Math.round(spanMs / 1000)} s` : `${Math.round(spanMs)} ms`
    return `suppressed ${suppressed} similar line${suppressed === 1 ? "" : "s"} in the last ${span}`
}

export class LogLimiter {
    readonly options: Readonly<LogLimitOptions>
    private readonly summarize: SummaryWriter
    private readonly timers: Timers
    /** Idlest first (re-inserted on use), so the one to forget is the first. */
    private readonly windows = new Map<string, Window>()

    constructor(summarize: SummaryWriter, options: Partial<LogLimitOptions> = {}, timers: Timers = realTimers) {
        const o = { ...DEFAULT_LOG_LIMIT, ...options }
        for (const name of ["linesPerWindow", "windowMs", "maxKeys"] as const)
            if (!(Number.isInteger(o[name]) && o[name] > 0))
                throw new RangeError(`LogLimiter: ${name} must be a whole number above 0, got ${o[name]}`)
        this.options = o
        this.summarize = summarize
        this.timers = timers
    }

    allow(key: string): boolean {
        const now = this.timers.now()
        let w = this.windows.get(key)
        // A window that ended without its timer having run (a clock that jumped, or went back): close it.
        if (w && (now - w.start >= this.options.windowMs || now < w.start)) {
            this.close(key, w)
            w = undefined
        }
        if (!w) {
            if (this.windows.size >= this.options.maxKeys) this.forgetIdlest()
            this.windows.set(key, { start: now, passed: 1, suppressed: 0 })
            return true
        }
        this.windows.delete(key)
        this.windows.set(key, w)
        if (w.passed < this.options.linesPerWindow) {
            w.passed++
            return true
        }
        w.suppressed++
        if (w.timer === undefined) {
            const current = w
            current.timer = this.timers.setTimeout(
                () => {
                    current.timer = undefined
                    if (this.windows.get(key) === current) this.close(key, current, this.options.windowMs)
                },
                current.start + this.options.windowMs - now
            )
            unref(current.timer)
        }
        return false
    }

    flush(): void {
        for (const [key, w] of [...this.windows]) this.close(key, w)
    }

    get size(): number {
        return this.windows.size
    }

    /** Ends a window; its summary spans from its start to now (a whole window when the clock went back). */
    private close(key: string, w: Window, spanMs?: number): void {
        this.windows.delete(key)
        if (w.timer !== undefined) this.timers.clearTimeout(w.timer)
        w.timer = undefined
        if (w.suppressed === 0) return
        const now = this.timers.now()
        const span = spanMs ?? (now < w.start ? this.options.windowMs : Math.min(this.options.windowMs, now - w.start))
        this.summarize(key, w.suppressed, span)
    }

    private forgetIdlest(): void {
        const idlest = this.windows.entries().next()
        if (!idlest.done) this.close(idlest.value[0], idlest.value[1])
    }
}

/** Node's timers keep the process alive; a pending summary must not. (Fake timers may lack unref.) */
function unref(handle: unknown): void {
    const h = handle as { unref?: () => unknown } | undefined
    if (typeof h?.unref === "function") h.unref()
}
