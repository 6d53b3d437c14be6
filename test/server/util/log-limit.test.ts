// Log lines limited per key (server/util/log-limit.ts) on vitest's fake clock, alone and in the controller:
// a flood of bad telemetry costs a few lines and one summary a minute, while every message is counted.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest"
import { NightlightServer } from "../../../server/controller/nightlight-server"
import { LogLimiter, suppressedText } from "../../../server/util/log-limit"
import type { MessageBus, MessageHandler } from "../../../server/mqtt/message-bus"
import { recordingLogger } from "../../helpers/mqtt"

const T0 = 1_700_000_000_000

beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
})
afterEach(() => {
    vi.useRealTimers()
})

/** A limiter whose lines and summaries land in `out`. */
function limited(options: ConstructorParameters<typeof LogLimiter>[1] = {}) {
    const out: string[] = []
    const limiter = new LogLimiter((key, n, span) => out.push(`${key}: ${suppressedText(n, span)}`), options)
    const log = (key: string, line: string) => {
        if (limiter.allow(key)) out.push(line)
    }
    return { out, limiter, log }
}

describe("LogLimiter", () => {
    test("10 lines pass, the rest are counted, and one summary comes when the minute ends", () => {
        const { out, log } = limited({ linesPerWindow: 10, windowMs: 60_000 })
        for (let i = 0; i < 1000; i++) log("bad", `line ${i}`)
        expect(out).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i}`))
        vi.advanceTimersByTime(59_999)
        expect(out).toHaveLength(10)
        vi.advanceTimersByTime(1)
        expect(out[10]).toBe("bad: suppressed 990 similar lines in the last 60 s")
        // a new window: the next lines pass again
        log("bad", "after")
        expect(out.at(-1)).toBe("after")
        expect(vi.getTimerCount()).toBe(0)
    })

    test("a flood that goes on gets a summary each window, and its first lines", () => {
        const { out, log } = limited({ linesPerWindow: 2, windowMs: 1000 })
        for (let ms = 0; ms < 3000; ms += 10) {
            log("k", `at ${ms}`)
            vi.advanceTimersByTime(10)
        }
        expect(out).toEqual([
            "at 0",
            "at 10",
            "k: suppressed 98 similar lines in the last 1 s",
            "at 1000",
            "at 1010",
            "k: suppressed 98 similar lines in the last 1 s",
            "at 2000",
            "at 2010",
            "k: suppressed 98 similar lines in the last 1 s",
        ])
    })

    test("keys are limited apart: a flood of one reason leaves another's lines alone", () => {
        const { out, log } = limited({ linesPerWindow: 3 })
        for (let i = 0; i < 100; i++) log("not_json", "x")
        log("bad_field", "the one that matters")
        expect(out.filter(l => l === "x")).toHaveLength(3)
        expect(out).toContain("the one that matters")
    })

    test("nothing held back: no timer and no summary", () => {
        const { out, log } = limited({ linesPerWindow: 5 })
        for (let i = 0; i < 5; i++) log("k", "x")
        expect(vi.getTimerCount()).toBe(0)
        vi.advanceTimersByTime(120_000)
        expect(out).toHaveLength(5)
    })

    test("flush writes the pending summaries at once, spanning the time so far", () => {
        const { out, limiter, log } = limited({ linesPerWindow: 1 })
        log("a", "a")
        log("a", "a")
        vi.advanceTimersByTime(12_000)
        log("b", "b")
        limiter.flush()
        expect(out).toEqual(["a", "b", "a: suppressed 1 similar line in the last 12 s"])
        expect(vi.getTimerCount()).toBe(0)
        expect(limiter.size).toBe(0)
    })

    test("a flood of keys keeps at most maxKeys windows; a forgotten key's summary is written first", () => {
        const { out, limiter, log } = limited({ linesPerWindow: 1, maxKeys: 100 })
        log("first", "first")
        log("first", "first")
        for (let i = 0; i < 10_000; i++) log(`client-${i}`, "c")
        expect(limiter.size).toBe(100)
        expect(out).toContain("first: suppressed 1 similar line in the last 0 ms")
        expect(vi.getTimerCount()).toBe(0)
    })

    test("a clock that jumps past the window closes it at the next line", () => {
        const out: string[] = []
        let now = 0
        const timers = { now: () => now, setTimeout: () => "never fires", clearTimeout: () => undefined }
        const limiter = new LogLimiter((k, n, span) => out.push(`${k}: ${suppressedText(n, span)}`), {}, timers)
        for (let i = 0; i < 11; i++) limiter.allow("k")
        now = 61_000
        expect(limiter.allow("k")).toBe(true)
        expect(out).toEqual(["k: suppressed 1 similar line in the last 60 s"])
    })

    test("bad options are refused, naming the option", () => {
        expect(() => new LogLimiter(() => undefined, { linesPerWindow: 0 })).toThrow(/linesPerWindow/)
        expect(() => new LogLimiter(() => undefined, { windowMs: Infinity })).toThrow(/windowMs/)
    })
})

describe("the controller's rejection lines", () => {
    /** A bus that keeps the controller's handlers, so the test can hand it messages as a broker would. */
    const handlers = new Map<string, MessageHandler>()
    const bus: MessageBus = {
        start: async () => undefined,
        stop: async () => undefined,
        publish: async () => undefined,
        subscribe: async (filter, handler) => void handlers.set(filter, handler),
    }
    const telemetry = (topic: string, payload: string) => handlers.get("+/telemetry")!(topic, Buffer.from(payload))

    test("5000 bad readings: every one counted, 10 lines per reason, then one summary per reason", async () => {
        const { logger, lines } = recordingLogger("info")
        const server = new NightlightServer({ bus, logger, threshold: 300 })
        await server.start()
        const before = lines.length
        for (let i = 0; i < 2500; i++) telemetry("dev/telemetry", `garbage ${i}`)
        for (let i = 0; i < 2500; i++) telemetry(`bad id ${i}/telemetry`, '{"light": 1}')
        expect(server.stats().rejected).toMatchObject({ not_json: 2500, bad_topic: 2500 })
        const logged = lines.slice(before)
        expect(logged.filter(l => l.includes("not_json"))).toHaveLength(10)
        expect(logged.filter(l => l.includes("bad_topic"))).toHaveLength(10)
        vi.advanceTimersByTime(60_000)
        const summaries = lines.slice(before + 20).map(l => l.replace(/^\S+ /, "").trimEnd())
        expect(summaries.sort()).toEqual([
            "WARN: Rejected telemetry: bad_topic: suppressed 2490 similar lines in the last 60 s",
            "WARN: Rejected telemetry: not_json: suppressed 2490 similar lines in the last 60 s",
        ])
        await server.stop()
    })
})
