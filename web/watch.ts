/**
 * Which devices the page watches: the union of what its views show (the device page, the cards, the
 * table's rows on screen, the groups' members: in that order of priority, at most MAX_WATCHED_DEVICES),
 * sent to the fleet stream with `PUT /api/events/<stream>/watch` when it changed: debounced, one request
 * in flight, and again after every "hello" (a new stream watches nothing). A 404 means the server
 * forgot the stream: the connection opens a new one, whose hello sends the set again.
 */
import { MAX_WATCHED_DEVICES } from "../server/http/api-types"
import { ApiRequestError, putWatch } from "./api"
import type { LiveConnection } from "./live"
import type { Store } from "./store"

export type WatchSource = "page" | "cards" | "table" | "groups"

const SOURCES: readonly WatchSource[] = ["page", "cards", "table", "groups"]
const DEBOUNCE_MS = 100
/** After a failed request other than 404 (the server busy or away): try again this much later. */
const RETRY_MS = 2000

export class Watch {
    private readonly wanted = new Map<WatchSource, readonly string[]>()
    private union: string[] = []
    private unionKey = ""
    /** The set the stream watches (sorted, joined), and which stream; undefined: nothing sent to it yet. */
    private sent?: { stream: string; key: string }
    private timer?: number
    private inFlight = false

    constructor(
        private readonly live: LiveConnection,
        private readonly store: Store
    ) {
        store.listen(event => {
            if (event.type !== "hello") return
            this.sent = undefined
            this.schedule(0)
        })
    }

    /** What one view shows now; replaces what it showed before. */
    set(source: WatchSource, ids: Iterable<string>): void {
        this.wanted.set(source, [...ids])
        const union = new Set<string>()
        for (const name of SOURCES)
            for (const id of this.wanted.get(name) ?? []) {
                if (union.size >= MAX_WATCHED_DEVICES) break
                union.add(id)
            }
        const key = keyOf(union)
        if (key === this.unionKey) return
        this.union = [...union]
        this.unionKey = key
        // A server without the fleet view sends every device anyway: nothing to forget.
        if (this.live.stream !== undefined) this.store.retain(union)
        this.schedule(DEBOUNCE_MS)
    }

    private schedule(delayMs: number): void {
        window.clearTimeout(this.timer)
        this.timer = window.setTimeout(() => void this.flush(), delayMs)
    }

    private async flush(): Promise<void> {
        const stream = this.live.stream
        if (this.inFlight || stream === undefined) return // sent when the request ends, or after the hello
        const devices = this.union
        const key = this.unionKey
        if (this.sent?.stream === stream && this.sent.key === key) return
        this.inFlight = true
        let ok = false
        try {
            await putWatch(stream, { devices })
            this.sent = { stream, key }
            ok = true
        } catch (error) {
            if (!(error instanceof ApiRequestError && error.status === 404)) this.schedule(RETRY_MS)
            else if (this.live.stream === stream) this.live.reopen()
        } finally {
            this.inFlight = false
        }
        // What changed while the request was out: the set, or the stream (a hello came meanwhile).
        if (ok && (key !== this.unionKey || this.live.stream !== stream)) this.schedule(0)
    }
}

/** The same for the same devices in any order. */
function keyOf(ids: Iterable<string>): string {
    return [...ids].sort().join("\n")
}
