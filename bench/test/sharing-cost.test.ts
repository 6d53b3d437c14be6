/**
 * The scale-out's sharing cost (bench/sharing-cost.ts) on model steps: servers whose CPU per reading is
 * known at each load, so the ratio the bench reports is known too.
 */
import { describe, expect, test } from "vitest"
import { costAt, costCurve, sharingCost, sharingSummary, type SharingStep } from "../sharing-cost"

const KEEP_UP = 0.9

/** A step of `instances` servers that kept up at `rate`, each server spending `micros(perServer)` per reading. */
function step(instances: number, rate: number, micros: (perServer: number) => number): SharingStep {
    const perServer = rate / instances
    // % of a core = µs per reading × readings/s ÷ 10^4, each server handling its share
    const percent = (micros(perServer) * perServer) / 1e4
    return { offeredPerS: rate, handledPerS: rate, serversCpuPercent: Array(instances).fill(percent) }
}

/** One server's µs per reading falls with its load: 20 µs at 5000/s, 10 at 20,000/s (linear in log rate). */
const oneServer = (perServer: number) => 20 - (10 * Math.log2(perServer / 5000)) / 2
const RATES = [5000, 7500, 11250, 16875, 25312]

describe("the cost curve", () => {
    test("has one point per rate that kept up, the servers' CPU per reading together, by the load per server", () => {
        const steps = [
            step(2, 20_000, () => 12),
            { offeredPerS: 30_000, handledPerS: 20_000, serversCpuPercent: [50, 50] }, // fell behind
            step(2, 14_000, () => 15), // 10.5% of a core each
        ]
        expect(costCurve(2, steps, KEEP_UP)).toEqual([
            { perServerPerS: 7000, microsPerReading: 15 },
            { perServerPerS: 10_000, microsPerReading: 12 },
        ])
    })

    test("takes the median of a rate run more than once, and leaves out servers below a tenth of a core", () => {
        const steps = [step(1, 20_000, () => 10), step(1, 20_000, () => 12), step(1, 20_000, () => 14)]
        steps.push({ offeredPerS: 500, handledPerS: 500, serversCpuPercent: [3] }) // 3%: ticks too coarse
        expect(costCurve(1, steps, KEEP_UP)).toEqual([{ perServerPerS: 20_000, microsPerReading: 12 }])
    })

    test("one server's cost between two of its points is read in the log of the rate; outside them it is unknown", () => {
        const one = costCurve(
            1,
            RATES.map(r => step(1, r, oneServer)),
            KEEP_UP
        )
        expect(costAt(one, 5000)).toBeCloseTo(20)
        expect(costAt(one, 10_000)).toBeCloseTo(oneServer(10_000)) // between 7500 and 11,250
        expect(costAt(one, 4999)).toBeNull()
        expect(costAt(one, 30_000)).toBeNull()
        expect(costAt([], 5000)).toBeNull()
    })
})

describe("the sharing cost", () => {
    const one = costCurve(
        1,
        RATES.map(r => step(1, r, oneServer)),
        KEEP_UP
    )

    test("is 1 for servers that each spend what one server spends at their load", () => {
        const two = costCurve(
            2,
            [15_000, 22_500, 33_750].map(r => step(2, r, oneServer)),
            KEEP_UP
        )
        expect(sharingCost(one, two)).toBeCloseTo(1)
    })

    test("is the ratio at the same load per server, not at the same total rate", () => {
        // each of three servers spends a fifth more than one server would at its own load
        const three = costCurve(
            3,
            [15_000, 22_500, 33_750, 50_000].map(r => step(3, r, s => 1.2 * oneServer(s))),
            KEEP_UP
        )
        expect(sharingCost(one, three)).toBeCloseTo(1.2)
        // against one server at the same total rate they would look dearer still (a lighter load each)
        expect(three[0].microsPerReading / costAt(one, 15_000)!).toBeGreaterThan(1.2)
    })

    test("is unknown without a load in common, and says so in the summary", () => {
        const far = costCurve(2, [step(2, 200_000, () => 5)], KEEP_UP)
        expect(sharingCost(one, far)).toBeNull()
        expect(
            sharingSummary([
                { instances: 1, sharingCost: null },
                { instances: 2, sharingCost: null },
            ])
        ).toBe("")
    })

    test("summary: each count with what it would take on as many machines", () => {
        expect(
            sharingSummary([{ instances: 1 }, { instances: 2, sharingCost: 1.07 }, { instances: 3, sharingCost: 1.5 }])
        ).toBe("2 servers ×1.07 (on 2 machines: up to 1.87× one), 3 servers ×1.50 (on 3 machines: up to 2.00× one)")
    })
})
