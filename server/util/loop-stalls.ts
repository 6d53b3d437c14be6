/**
 * How long the broker's thread was held up, logged at debug level: the event loop's delay (max and p99)
 * and the garbage collector's pauses over each period. A stall here delays every reading and command
 * waiting behind it, so this is where the p99 reading → command comes from (bench/README.md "Latency").
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from "node:perf_hooks"
import type { Logger } from "./logger"

export const LOOP_STALLS = {
    /** ms between two lines */
    everyMs: 10_000,
    /** ms; the delay histogram's sampling */
    resolutionMs: 5,
    /** ms; GC pauses at least this long are counted */
    longGcMs: 5,
}

export interface LoopStallFigures {
    maxMs: number
    p99Ms: number
    gcPauses: number
    gcMs: number
    longGcPauses: number
    longestGcMs: number
}

/** The line for one period's figures. */
export function describeLoopStalls(f: LoopStallFigures, periodMs: number): string {
    const round = (ms: number) => Math.round(ms * 10) / 10
    return (
        `event loop over ${Math.round(periodMs / 1000)} s: delay max ${round(f.maxMs)} ms, p99 ${round(f.p99Ms)} ms; ` +
        `GC ${f.gcPauses} pauses, ${round(f.gcMs)} ms in all, ${f.longGcPauses} of ≥ ${LOOP_STALLS.longGcMs} ms ` +
        `(longest ${round(f.longestGcMs)} ms)`
    )
}

export class LoopStalls {
    private histogram: IntervalHistogram | undefined
    private observer: PerformanceObserver | undefined
    private timer: NodeJS.Timeout | undefined
    private gc = { pauses: 0, ms: 0, long: 0, longest: 0 }

    constructor(
        private readonly log: Logger,
        private readonly everyMs = LOOP_STALLS.everyMs
    ) {}

    /** Does nothing unless the log shows debug lines: the monitor costs a timer every resolutionMs. */
    start(): void {
        if (this.timer || !this.log.isLevelEnabled("debug")) return
        this.histogram = monitorEventLoopDelay({ resolution: LOOP_STALLS.resolutionMs })
        this.histogram.enable()
        this.observer = new PerformanceObserver(list => {
            for (const entry of list.getEntries()) {
                this.gc.pauses++
                this.gc.ms += entry.duration
                if (entry.duration >= LOOP_STALLS.longGcMs) this.gc.long++
                this.gc.longest = Math.max(this.gc.longest, entry.duration)
            }
        })
        this.observer.observe({ entryTypes: ["gc"] })
        this.timer = setInterval(() => this.report(), this.everyMs).unref()
    }

    stop(): void {
        clearInterval(this.timer)
        this.histogram?.disable()
        this.observer?.disconnect()
        this.timer = this.histogram = this.observer = undefined
    }

    private report(): void {
        const h = this.histogram!
        const figures: LoopStallFigures = {
            maxMs: h.max / 1e6,
            p99Ms: h.percentile(99) / 1e6,
            gcPauses: this.gc.pauses,
            gcMs: this.gc.ms,
            longGcPauses: this.gc.long,
            longestGcMs: this.gc.longest,
        }
        h.reset()
        this.gc = { pauses: 0, ms: 0, long: 0, longest: 0 }
        this.log.debug(describeLoopStalls(figures, this.everyMs))
    }
}
