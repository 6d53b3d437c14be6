/**
 * The chart's band as it was (web/chart-data.ts, pure): the spans of the rules in force over the time
 * shown, from the history's settingsHistory and the live changes. The drawing is checked in a browser
 * (test/interop/dashboard.test.ts); these are the edge cases a picture does not show.
 */
import { expect, test } from "vitest"
import type { HistoryResponse } from "../../server/http/api-types"
import { ChartData, WINDOW_MS } from "../../web/chart-data"

const T = 1_700_000_000_000
const MIN = 60_000

function history(fields: Partial<HistoryResponse> = {}): HistoryResponse {
    return {
        device: "hall",
        from: T - WINDOW_MS,
        to: T,
        bucketMs: 0,
        readings: [{ t: T - 5 * MIN, light: 900, led: false }],
        commands: [],
        settings: { threshold: 600, band: 100 },
        ...fields,
    }
}

test("each rule over the time it was in force, clipped to the time shown", () => {
    const data = new ChartData()
    data.load(
        history({
            settingsHistory: [
                { t: T - 20 * MIN, threshold: 300, band: 100 },
                { t: T - 4 * MIN, threshold: 600, band: 100 },
            ],
        })
    )
    expect(data.bandSpans(T - 10 * MIN, T)).toEqual([
        { from: T - 10 * MIN, to: T - 4 * MIN, lower: 300, upper: 400 },
        { from: T - 4 * MIN, to: T, lower: 600, upper: 700 },
    ])
    // a live change: from its time on, not before
    data.addRule(T - MIN, { threshold: 200, band: 1000 })
    expect(data.bandSpans(T - 2 * MIN, T)).toEqual([
        { from: T - 2 * MIN, to: T - MIN, lower: 600, upper: 700 },
        { from: T - MIN, to: T, lower: 200, upper: 1023 },
    ])
})

test("no band before the first rule on record; today's over everything from a server that keeps none", () => {
    const data = new ChartData()
    data.load(history({ settingsHistory: [{ t: T - 3 * MIN, threshold: 300, band: 100 }] }))
    expect(data.bandSpans(T - 10 * MIN, T)).toEqual([{ from: T - 3 * MIN, to: T, lower: 300, upper: 400 }])
    data.load(history())
    expect(data.bandSpans(T - 10 * MIN, T)).toEqual([{ from: T - 10 * MIN, to: T, lower: 600, upper: 700 }])
})

test("rules that ended before the window are dropped, the one in force at its start kept", () => {
    const data = new ChartData()
    const rules = Array.from({ length: 50 }, (_, i) => ({ t: T - 60 * MIN + i * MIN, threshold: 100 + i, band: 0 }))
    data.load(history({ settingsHistory: rules }))
    // the window ends at the newest reading (T - 5 min): from T - 15 min on
    const spans = data.bandSpans(T - 60 * MIN, T)
    expect(spans[0]).toEqual({ from: T - 15 * MIN, to: T - 14 * MIN, lower: 145, upper: 145 })
    expect(spans).toHaveLength(5)
    expect(spans.at(-1)).toEqual({ from: T - 11 * MIN, to: T, lower: 149, upper: 149 })
})

test("a device's own rule wins over the fleet's while in force; the fleet's again after it", () => {
    const data = new ChartData()
    data.load(
        history({
            settingsHistory: [
                { t: T - 20 * MIN, threshold: 300, band: 100 },
                { t: T - 6 * MIN, threshold: 250, band: 100 },
            ],
            deviceRules: [
                { t: T - 30 * MIN, rule: { threshold: 600, band: 100 } },
                { t: T - 4 * MIN, rule: null },
            ],
        })
    )
    // the fleet's change at T - 6 min does not move hall's own band
    expect(data.bandSpans(T - 10 * MIN, T)).toEqual([
        { from: T - 10 * MIN, to: T - 4 * MIN, lower: 600, upper: 700 },
        { from: T - 4 * MIN, to: T, lower: 250, upper: 350 },
    ])
    // live: its own again, then a fleet change under it leaves it, then the fleet's
    data.addOwnRule(T - 2 * MIN, { threshold: 650, band: 50 })
    data.addRule(T - 90_000, { threshold: 200, band: 100 })
    data.addOwnRule(T - MIN, null)
    expect(data.bandSpans(T - 3 * MIN, T)).toEqual([
        { from: T - 3 * MIN, to: T - 2 * MIN, lower: 250, upper: 350 },
        { from: T - 2 * MIN, to: T - MIN, lower: 650, upper: 700 },
        { from: T - MIN, to: T, lower: 200, upper: 300 },
    ])
})

test("an own rule with no fleet rule on record is drawn; the fleet's again then draws none", () => {
    const data = new ChartData()
    data.load(
        history({
            settingsHistory: [],
            deviceRules: [
                { t: T - 8 * MIN, rule: { threshold: 600, band: 100 } },
                { t: T - 2 * MIN, rule: null },
            ],
        })
    )
    expect(data.bandSpans(T - 10 * MIN, T)).toEqual([{ from: T - 8 * MIN, to: T - 2 * MIN, lower: 600, upper: 700 }])
})
