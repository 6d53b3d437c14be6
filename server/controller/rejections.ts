/**
 * Bad telemetry (a topic that is not `<id>/telemetry`, a payload protocol/contract.ts refuses) is counted, logged
 * and announced, never thrown: one broken device must not stop the others being served. The lines are
 * limited per reason (util/log-limit.ts): a flood of bad messages costs a few lines a minute and a summary,
 * not a full disk. The counters still count every one.
 */
import type { RejectionEvent, RejectionReason, ServerStats } from "./events"
import { DEFAULT_LOG_LIMIT, LogLimiter, suppressedText } from "../util/log-limit"
import { printable, type Logger } from "../util/logger"
import type { Timers } from "../util/clock"

export interface TelemetryRejectionsOptions {
    log: Logger
    timers: Timers
    counters: Pick<ServerStats, "rejected">
    /** Each rejection (the controller's "rejected" event). */
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
