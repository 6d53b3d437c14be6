/**
 * Bad telemetry is counted, logged and announced, never thrown. Lines are limited per reason, so a
 * flood costs a few lines a minute, not a full disk; the counters still count every one.
 */
import type { RejectionEvent, RejectionReason, ServerStats } from "./events"
import { DEFAULT_LOG_LIMIT, LogLimiter, suppressedText } from "../util/log-limit"
import { printable, type Logger } from "../util/logger"
import type { Timers } from "../util/clock"

export interface TelemetryRejectionsOptions {
    log: Logger
    timers: Timers
    counters: Pick<ServerStats, "rejected">
    rejected: (event: RejectionEvent) => void
}

export class TelemetryRejections {
    /** Made on first use, as it needs the timers. */
    private limiter?: LogLimiter

    constructor(private readonly o: TelemetryRejectionsOptions) {}

    reject(topic: string, reason: RejectionReason, detail: string): void {
        const { log } = this.o
        this.o.counters.rejected[reason]++
        this.limiter ??= new LogLimiter(
            (key, suppressed, spanMs) => log.warn(`Rejected telemetry: ${key}: ${suppressedText(suppressed, spanMs)}`),
            DEFAULT_LOG_LIMIT,
            this.o.timers
        )
        if (this.limiter.allow(reason))
            log.warn(`Rejected telemetry on ${JSON.stringify(printable(topic, 100))}: ${reason}: ${printable(detail)}`)
        this.o.rejected({ topic, reason, detail })
    }

    /** Writes the summaries of lines held back so far (at shutdown). */
    flush(): void {
        this.limiter?.flush()
    }
}
