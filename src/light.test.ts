import { describe, expect, test } from "@devicescript/test"
import { DEFAULT_REPORT_POLICY, decideWithBand, shouldReport, toLessonUnits } from "./light"

describe("toLessonUnits", () => {
    test("maps the 0..1 ratio onto 0..1023", () => {
        expect(toLessonUnits(0)).toBe(0)
        expect(toLessonUnits(1)).toBe(1023)
        expect(toLessonUnits(0.5)).toBe(512)
    })
    test("rounds the u0.16 sensor ratio back to the lesson's value", () => {
        // 0.1 reads back from the bus as 0.100006 (docs/devicescript.md §3)
        expect(toLessonUnits(0.100006)).toBe(102)
        expect(toLessonUnits(300 / 1023)).toBe(300)
    })
    test("clamps out-of-range and NaN readings", () => {
        expect(toLessonUnits(-0.2)).toBe(0)
        expect(toLessonUnits(1.7)).toBe(1023)
        expect(toLessonUnits(NaN)).toBe(0)
    })
})

describe("decideWithBand", () => {
    test("is on below the threshold, off from threshold + band, unchanged between", () => {
        expect(decideWithBand(299, false, 300, 100)).toBe(true)
        expect(decideWithBand(350, true, 300, 100)).toBe(true)
        expect(decideWithBand(350, false, 300, 100)).toBe(false)
        expect(decideWithBand(399, true, 300, 100)).toBe(true)
        expect(decideWithBand(400, true, 300, 100)).toBe(false)
    })
    test("with band 0 it is exactly the lesson's rule", () => {
        expect(decideWithBand(299, false, 300, 0)).toBe(true)
        expect(decideWithBand(300, true, 300, 0)).toBe(false)
    })
    test("does not flap on noise around the threshold", () => {
        let led = false
        let switches = 0
        const noisy = [305, 296, 310, 290, 330, 301, 299, 350, 280, 395, 310]
        for (const light of noisy) {
            const next = decideWithBand(light, led, 300, 100)
            if (next !== led) switches++
            led = next
        }
        expect(switches).toBe(1)
    })
})

describe("shouldReport", () => {
    const policy = DEFAULT_REPORT_POLICY
    test("reports the first sample", () => {
        expect(shouldReport(undefined, 500, 0, policy, false)).toBe(true)
    })
    test("does not repeat an unchanged sample before the interval", () => {
        expect(shouldReport({ light: 500, at: 0 }, 500, 100, policy, false)).toBe(false)
        expect(shouldReport({ light: 500, at: 0 }, 505, 1900, policy, false)).toBe(false)
    })
    test("repeats the reading once the interval has passed", () => {
        expect(shouldReport({ light: 500, at: 0 }, 500, policy.intervalMs, policy, false)).toBe(true)
    })
    test("reports a meaningful change at once", () => {
        expect(shouldReport({ light: 500, at: 0 }, 500 - policy.minChange, policy.minGapMs, policy, false)).toBe(true)
        expect(shouldReport({ light: 500, at: 0 }, 100, 300, policy, false)).toBe(true)
    })
    test("reports at once a small move that changes the rule's decision", () => {
        expect(shouldReport({ light: 300, at: 0 }, 299, policy.minGapMs, policy, false)).toBe(true)
        expect(shouldReport({ light: 399, at: 0 }, 400, policy.minGapMs, policy, true)).toBe(true)
        expect(shouldReport({ light: 310, at: 0 }, 305, policy.minGapMs, policy, false)).toBe(false)
    })
    test("light hovering in the band with the rule's decision on adds no reports", () => {
        expect(shouldReport({ light: 300, at: 0 }, 299, policy.minGapMs, policy, true)).toBe(false)
        expect(shouldReport({ light: 299, at: 0 }, 310, policy.minGapMs, policy, true)).toBe(false)
    })
    test("holds a change back for the minimum gap so noise cannot flood the broker", () => {
        expect(shouldReport({ light: 500, at: 1000 }, 100, 1000 + policy.minGapMs - 1, policy, false)).toBe(false)
    })
})
