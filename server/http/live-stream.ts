/**
 * One SSE client of `GET /api/events` (no `event:` names, so `onmessage` sees all). Bounded, as a fleet
 * emits thousands of events a second and a client may be slow or gone: events coalesce per key.
 */
import type { Writable } from "node:stream"
import type { LiveEvent } from "./api-types"

export interface LiveStreamOptions {
    /** ms between two writes to one client; events in between are coalesced. */
    flushIntervalMs: number
    /** ms between heartbeat comments. */
    heartbeatMs: number
    /** ms a client may stay congested before it is dropped. */
    stallLimitMs: number
    /** ms the browser waits before reconnecting (the SSE `retry:` field). */
    retryMs: number
    /** Events a second one client gets at most, on average. */
    maxEventsPerSecond: number
}

export const LIVE_STREAM_DEFAULTS: LiveStreamOptions = {
    flushIntervalMs: 200,
    heartbeatMs: 15_000,
    stallLimitMs: 30_000,
    retryMs: 2000,
    maxEventsPerSecond: 2000,
}

/** The part of a ServerResponse the stream uses (a plain Writable in tests). */
export type StreamTarget = Pick<Writable, "write" | "end" | "destroy" | "once" | "off">

export type StreamEnd = "closed" | "stalled"

export class LiveStream {
    private readonly pending = new Map<string, LiveEvent>()
    private flushTimer?: NodeJS.Timeout
    private heartbeat?: NodeJS.Timeout
    private stallTimer?: NodeJS.Timeout
    private congested = false
    /** When the next write may happen (ms, Date.now clock). */
    private nextFlushAt = -Infinity
    private ended = false

    constructor(
        private readonly target: StreamTarget,
        private readonly options: LiveStreamOptions = LIVE_STREAM_DEFAULTS,
        /** Called once when the stream ends on its own ("stalled"); not when close() is called. */
        private readonly onDrop: (why: StreamEnd) => void = () => undefined
    ) {}

    start(hello: LiveEvent & { type: "hello" }): void {
        this.write(`retry: ${this.options.retryMs}\n\n${frame(hello)}`)
        this.heartbeat = setInterval(() => {
            if (!this.congested) this.write(": heartbeat\n\n")
        }, this.options.heartbeatMs)
    }

    /** Queues an event; cheap (a map update), whatever the rate. */
    push(event: LiveEvent): void {
        if (this.ended) return
        const key = coalescingKey(event)
        if (event.type === "reading") {
            // A stale reading (older than one already waiting) must not replace the newer one.
            const waiting = this.pending.get(key)
            if (waiting?.type === "reading" && waiting.t > event.t) return
        }
        this.pending.set(key, event)
        this.scheduleFlush()
    }

    get waiting(): number {
        return this.pending.size
    }

    close(): void {
        if (this.ended) return
        this.stop()
        this.target.end()
    }

    private drop(why: StreamEnd): void {
        if (this.ended) return
        this.stop()
        this.target.destroy()
        this.onDrop(why)
    }

    private stop(): void {
        this.ended = true
        this.pending.clear()
        clearTimeout(this.flushTimer)
        clearTimeout(this.stallTimer)
        clearInterval(this.heartbeat)
        this.target.off("drain", this.onDrain)
    }

    private scheduleFlush(): void {
        if (this.flushTimer || this.congested || this.ended) return
        const delay = Math.max(0, this.nextFlushAt - Date.now())
        this.flushTimer = setTimeout(() => this.flush(), delay)
    }

    private flush(): void {
        this.flushTimer = undefined
        if (this.pending.size === 0 || this.congested || this.ended) return
        let text = ""
        for (const event of this.pending.values()) text += frame(event)
        const pause = Math.max(
            this.options.flushIntervalMs,
            (this.pending.size * 1000) / this.options.maxEventsPerSecond
        )
        this.pending.clear()
        this.nextFlushAt = Date.now() + pause
        this.write(text)
    }

    private write(text: string): void {
        if (this.target.write(text)) return
        this.congested = true
        this.target.once("drain", this.onDrain)
        this.stallTimer = setTimeout(() => this.drop("stalled"), this.options.stallLimitMs)
    }

    private readonly onDrain = () => {
        this.congested = false
        clearTimeout(this.stallTimer)
        if (this.pending.size > 0) this.scheduleFlush()
    }
}

function frame(event: LiveEvent): string {
    // JSON.stringify escapes newlines inside strings, so one event is always one data line.
    return `data: ${JSON.stringify(event)}\n\n`
}

function coalescingKey(event: LiveEvent): string {
    switch (event.type) {
        case "reading":
        case "command":
            return `${event.type}:${event.deviceId}`
        case "device":
            return `device:${event.device.id}`
        case "group":
            return `group:${event.group.name}`
        case "rule":
            return `rule:${event.deviceId}`
        case "settings":
        case "summary":
        case "hello":
            return event.type
    }
}
