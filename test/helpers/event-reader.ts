/** A client of the live stream (`GET /api/events`) for tests: real fetch, events read as they come. */
import type { LiveEvent } from "../../server/http/api-types"
import { within } from "./mqtt"

/** Reads an SSE response: data lines parsed as LiveEvents, comments kept apart. */
export class EventReader {
    readonly comments: string[] = []
    readonly ended: Promise<void>
    private readonly queue: LiveEvent[] = []
    private wake?: () => void
    private done = false

    private constructor(
        readonly response: Response,
        private readonly abort: AbortController
    ) {
        this.ended = this.pump()
    }

    static async open(url: string): Promise<EventReader> {
        const abort = new AbortController()
        const response = await fetch(url, { signal: abort.signal })
        return new EventReader(response, abort)
    }

    private async pump(): Promise<void> {
        const reader = this.response.body!.getReader()
        const decoder = new TextDecoder()
        let buffer = ""
        try {
            for (;;) {
                const { value, done } = await reader.read()
                if (done) break
                buffer += decoder.decode(value, { stream: true })
                let end: number
                while ((end = buffer.indexOf("\n\n")) >= 0) {
                    for (const line of buffer.slice(0, end).split("\n")) {
                        if (line.startsWith("data: ")) this.queue.push(JSON.parse(line.slice(6)) as LiveEvent)
                        else if (line.startsWith(":")) this.comments.push(line)
                    }
                    buffer = buffer.slice(end + 2)
                }
                this.wake?.()
            }
        } catch {
            // aborted by close()
        } finally {
            this.done = true
            this.wake?.()
        }
    }

    async next(ms = 3000): Promise<LiveEvent> {
        await within(
            ms,
            "a live event",
            (async () => {
                while (this.queue.length === 0 && !this.done) await new Promise<void>(r => (this.wake = r))
            })()
        )
        const event = this.queue.shift()
        if (!event) throw new Error("the stream ended")
        return event
    }

    close(): void {
        this.abort.abort()
    }
}
