/**
 * The live streams in the "fleet" view (LiveView in api-types.ts): each is known by a random id, which
 * its page sends its watch list with, and gets device events only for what it watches. One summary is
 * counted for all of them on a timer, and each stream gets it when its counts changed.
 */
import { randomBytes } from "node:crypto"
import type { ApiBackend, SummaryResponse } from "./api-types"
import type { LiveStream } from "./live-stream"

export const FLEET_STREAM_DEFAULTS = {
    /** ms between two summaries: counting 10,000 devices takes about a millisecond. */
    summaryIntervalMs: 1000,
}

/** 16 random bytes as base64url: a capability, not guessable, so one page cannot steer another's stream. */
const STREAM_ID_BYTES = 16
export const STREAM_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/

interface FleetStream {
    stream: LiveStream
    watched: Set<string>
    /** The counts the stream last got (summaryKey). */
    sentKey: string
}

export class FleetStreams {
    private readonly streams = new Map<string, FleetStream>()
    private timer?: NodeJS.Timeout

    constructor(
        private readonly backend: ApiBackend,
        private readonly clock: () => number,
        private readonly summaryIntervalMs = FLEET_STREAM_DEFAULTS.summaryIntervalMs
    ) {}

    get size(): number {
        return this.streams.size
    }

    /** The summary to greet a new stream with, counted now. */
    summary(): SummaryResponse {
        return this.backend.summary(this.clock())
    }

    /** Registers a stream greeted with `greeting`; `wants` is the filter for ApiBackend.subscribe. */
    add(stream: LiveStream, greeting: SummaryResponse): { id: string; wants: (deviceId: string) => boolean } {
        const id = randomBytes(STREAM_ID_BYTES).toString("base64url")
        const entry: FleetStream = { stream, watched: new Set(), sentKey: summaryKey(greeting) }
        this.streams.set(id, entry)
        this.timer ??= setInterval(() => this.sendSummaries(), this.summaryIntervalMs)
        return { id, wants: deviceId => entry.watched.has(deviceId) }
    }

    remove(id: string): void {
        this.streams.delete(id)
        if (this.streams.size === 0) this.stop()
    }

    /**
     * Replaces what stream `id` watches and sends it the state of each newly watched device the server
     * knows. undefined when no such stream is open.
     */
    watch(id: string, devices: readonly string[]): number | undefined {
        const entry = this.streams.get(id)
        if (!entry) return undefined
        const before = entry.watched
        entry.watched = new Set(devices)
        for (const deviceId of entry.watched) {
            if (before.has(deviceId)) continue
            const device = this.backend.device(deviceId)
            if (device) entry.stream.push({ type: "device", device })
        }
        return entry.watched.size
    }

    stop(): void {
        clearInterval(this.timer)
        this.timer = undefined
    }

    private sendSummaries(): void {
        const summary = this.summary()
        const key = summaryKey(summary)
        for (const entry of this.streams.values()) {
            if (entry.sentKey === key) continue
            entry.sentKey = key
            entry.stream.push({ type: "summary", summary })
        }
    }
}

/** What a page shows of a summary: all but the clock, which changes every time. */
function summaryKey(summary: SummaryResponse): string {
    return JSON.stringify([summary.devices, summary.counts, summary.groups])
}
