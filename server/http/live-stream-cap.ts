/** Live streams open at once: each holds a socket, timers and events per device. Past the cap, 503. */
import type { IncomingMessage, ServerResponse } from "node:http"
import { LogLimiter, suppressedText } from "../util/log-limit"
import type { Logger } from "../util/logger"
import { sendError } from "./responses"

/**
 * A dashboard is a few tabs, so 100 leaves ample room. No cap per address: behind a reverse proxy (the
 * way docs/security.md recommends for a dashboard beyond loopback) every stream comes from one.
 */
export const MAX_LIVE_STREAMS = 100 // streams

/** Seconds a refused client is asked to wait (Retry-After). */
const RETRY_AFTER_S = 10

export class LiveStreamCap {
    private refusedCount = 0
    private readonly lines: LogLimiter

    constructor(
        readonly max: number,
        private readonly log: Logger
    ) {
        this.lines = new LogLimiter(
            (_key, suppressed, spanMs) => log.warn(`refused more live streams: ${suppressedText(suppressed, spanMs)}`),
            { linesPerWindow: 1 }
        )
    }

    admit(open: number, req: IncomingMessage, res: ServerResponse): boolean {
        if (req.method === "HEAD" || open < this.max) return true
        this.refusedCount++
        if (this.lines.allow("full"))
            this.log.warn(`refused a live stream to ${req.socket.remoteAddress}: ${this.max} are open already`)
        sendError(res, 503, `too many live streams open (${this.max}); try again later`, undefined, {
            "Retry-After": String(RETRY_AFTER_S),
        })
        return false
    }

    get refused(): number {
        return this.refusedCount
    }
}
