/**
 * The live connection: an EventSource on /api/events?view=fleet that comes back by itself. The browser
 * retries a dropped stream on its own, but gives up for good on an error answer (e.g. a 500, or a
 * proxy's page), so after that we open a new one, waiting longer each time (1 s doubling to 15 s).
 * Each "hello" names the stream (`stream`), which the page's watch requests address.
 */
import type { LiveEvent } from "../server/http/api-types"

export type LiveStatus = "connecting" | "live" | "reconnecting"

const RETRY_MIN_MS = 1000
const RETRY_MAX_MS = 15_000

export class LiveConnection {
    private source?: EventSource
    private retryMs = RETRY_MIN_MS
    private retryTimer?: number
    private streamId?: string

    constructor(
        private readonly url: string,
        private readonly onEvent: (event: LiveEvent) => void,
        private readonly onStatus: (status: LiveStatus) => void
    ) {}

    /** The open stream's id from its "hello"; undefined before it and from a server without the fleet view. */
    get stream(): string | undefined {
        return this.streamId
    }

    start(): void {
        this.onStatus("connecting")
        this.open()
    }

    /** The server no longer knows our stream (it restarted, or dropped us): a new one, with a new hello. */
    reopen(): void {
        this.streamId = undefined
        this.source?.close()
        window.clearTimeout(this.retryTimer)
        this.onStatus("reconnecting")
        this.open()
    }

    private open(): void {
        const source = new EventSource(this.url)
        this.source = source
        source.onmessage = message => {
            let event: LiveEvent
            try {
                event = JSON.parse(message.data) as LiveEvent
            } catch {
                return // not ours; the stream goes on
            }
            if (event.type === "hello") {
                this.retryMs = RETRY_MIN_MS
                this.streamId = event.stream
                this.onStatus("live")
            }
            this.onEvent(event)
        }
        source.onerror = () => {
            this.streamId = undefined
            this.onStatus("reconnecting")
            if (source.readyState !== EventSource.CLOSED) return // the browser retries this one itself
            source.close()
            window.clearTimeout(this.retryTimer)
            this.retryTimer = window.setTimeout(() => this.open(), this.retryMs)
            this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS)
        }
    }
}
