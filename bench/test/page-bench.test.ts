/**
 * The page bench's pure parts: the lag of the page behind the stream from the probe's values sent and
 * shown, the targets as verdicts, the probe's id sorting first, and the connections the fleet
 * needs within the broker's per-client rate limit.
 */
import { describe, expect, test } from "vitest"
import { deviceIds, PAGE_FLEET, PageFleet } from "../page-fleet"
import { probeLag, type TimedValue } from "../page-lag"
import { parsePageArgs } from "../page-options"
import { pageVerdict, type PageRun } from "../page-report"

/** Probe values 400, 401, ... sent every 250 ms from t = 1000. */
const sent = (count: number): TimedValue[] =>
    Array.from({ length: count }, (_, i) => ({ value: 400 + i, at: 1000 + 250 * i }))

describe("probeLag", () => {
    test("each value shown: shown − sent, median, p95 and max", () => {
        const shown = sent(4).map((s, i) => ({ value: s.value, at: s.at + [100, 200, 300, 1000][i] }))
        expect(probeLag(sent(4), shown)).toEqual({
            sent: 4,
            shown: 4,
            skipped: 0,
            neverShown: 0,
            medianMs: 250,
            p95Ms: 1000,
            maxMs: 1000,
        })
    })

    test("a value passed over is skipped, not missing: its lag runs until a later value shows", () => {
        const shown = [
            { value: 400, at: 1100 },
            { value: 403, at: 2000 }, // 401 and 402 folded into it
        ]
        // lags: 400 → 100; 401 (sent 1250) → 750; 402 (1500) → 500; 403 (1750) → 250
        expect(probeLag(sent(4), shown)).toEqual({
            sent: 4,
            shown: 2,
            skipped: 2,
            neverShown: 0,
            medianMs: 375,
            p95Ms: 750,
            maxMs: 750,
        })
    })

    test("values sent after the last one shown are never shown, and have no lag", () => {
        const shown = [{ value: 401, at: 1500 }]
        // 400 (sent 1000) and 401 (1250) are on screen at 1500
        expect(probeLag(sent(5), shown)).toMatchObject({ shown: 1, skipped: 1, neverShown: 3, maxMs: 500 })
    })

    test("nothing shown: every value missing, no lag figure", () => {
        expect(probeLag(sent(3), [])).toEqual({
            sent: 3,
            shown: 0,
            skipped: 0,
            neverShown: 3,
            medianMs: null,
            p95Ms: null,
            maxMs: null,
        })
    })

    test("the value before the run and a value shown twice count once, at its first showing", () => {
        const shown = [
            { value: 1000, at: 900 }, // the registration's
            { value: 400, at: 1300 },
            { value: 401, at: 1400 },
            { value: 400, at: 1500 }, // the page went back (a reconnect's state): not a new value
        ]
        expect(probeLag(sent(2), shown)).toMatchObject({ shown: 2, skipped: 0, neverShown: 0, maxMs: 300 })
    })
})

describe("pageVerdict", () => {
    const run = (changes: Partial<Omit<PageRun, "verdict">> = {}): Omit<PageRun, "verdict"> => ({
        devices: 10_000,
        connections: 100,
        usefulMs: 800,
        usefulDomMs: 700,
        usefulBoundMs: 30_000,
        domElements: 2500,
        heapMB: 10,
        offeredPerS: 5000,
        sentPerS: 4990,
        seconds: 20,
        lag: { sent: 80, shown: 60, skipped: 20, neverShown: 0, medianMs: 400, p95Ms: 1500, maxMs: 2500 },
        mainThreadBusyPercent: 30,
        loadAverage: 1,
        ...changes,
    })
    const lag = (changes: Partial<PageRun["lag"]>) => ({ ...run().lag, ...changes })

    test("within every target: all met (a max over 2 s alone does not fail the lag)", () => {
        expect(pageVerdict(run())).toEqual({ dom: true, useful: true, lag: true, all: true })
    })

    test("each target fails on its own figure", () => {
        expect(pageVerdict(run({ domElements: 3000 }))).toMatchObject({ dom: false, all: false })
        expect(pageVerdict(run({ usefulMs: 1001 }))).toMatchObject({ useful: false, all: false })
        expect(pageVerdict(run({ usefulMs: null }))).toMatchObject({ useful: false, all: false })
        expect(pageVerdict(run({ lag: lag({ p95Ms: 2000 }) }))).toMatchObject({ lag: false, all: false })
    })

    test("a page that stopped showing the probe fails the lag whatever its figures", () => {
        expect(pageVerdict(run({ lag: lag({ neverShown: 1 }) }))).toMatchObject({ lag: false, all: false })
        const nothing = lag({ shown: 0, neverShown: 80, medianMs: null, p95Ms: null, maxMs: null })
        expect(pageVerdict(run({ lag: nothing }))).toMatchObject({ lag: false, all: false })
    })

    test("below 5,000 readings/s the lag is measured but not judged", () => {
        const slow = run({ offeredPerS: 500, lag: lag({ p95Ms: 9000 }) })
        expect(pageVerdict(slow)).toEqual({ dom: true, useful: true, lag: null, all: true })
    })
})

describe("the page fleet", () => {
    test("the probe's id sorts first among the fleet's, as the page sorts them", () => {
        for (const count of [2, 100, 1000, 10_000]) {
            const ids = deviceIds(count, "pbx1")
            expect(new Set(ids).size).toBe(count)
            expect([...ids].reverse().sort((a, b) => a.localeCompare(b))[0]).toBe(ids[0])
        }
    })

    test("enough shared connections for the rate and the registration within the broker's limit", () => {
        // the broker: 100 publishes/s per client after a burst of 1000
        expect(PageFleet.connectionsFor(5000, 10_000)).toBe(100)
        expect(PageFleet.connectionsFor(500, 10_000)).toBe(20)
        expect(PageFleet.connectionsFor(5000, 10)).toBe(10)
        for (const [rate, devices] of [
            [5000, 100],
            [5000, 10_000],
            [200, 50_000],
        ]) {
            const connections = PageFleet.connectionsFor(rate, devices)
            expect(rate / connections).toBeLessThanOrEqual(100)
            expect(Math.ceil(devices / connections)).toBeLessThanOrEqual(PAGE_FLEET.registerPerConnection)
        }
    })
})

describe("parsePageArgs", () => {
    test("the issue's defaults, and each flag", () => {
        expect(parsePageArgs([])).toEqual({ devices: [100, 1000, 10_000], rate: 5000, seconds: 20 })
        expect(parsePageArgs(["--devices", "100,2000", "--rate", "1000", "--seconds", "5"])).toEqual({
            devices: [100, 2000],
            rate: 1000,
            seconds: 5,
        })
        expect(parsePageArgs(["--quick"])).toEqual({ devices: [100], rate: 500, seconds: 5 })
        expect(parsePageArgs(["--help"])).toBeUndefined()
    })

    test("a wrong value names its flag", () => {
        expect(() => parsePageArgs(["--devices", "100,abc"])).toThrow(/--devices/)
        expect(() => parsePageArgs(["--seconds", "151"])).toThrow(/--seconds/)
        expect(() => parsePageArgs(["--rate"])).toThrow(/--rate/)
        expect(() => parsePageArgs(["--fast"])).toThrow(/unknown option --fast/)
    })
})
