/**
 * Paired saturation searches (bench/saturation.ts climbTogether, SaturationSearch) against model systems
 * that keep up to a ceiling: the searches take turns one step each, in the paired runs' alternating
 * order; a search that is over drops out while the other goes on; each finds its own ceiling; and one
 * system's time budget counts its own steps only.
 */
import { describe, expect, test } from "vitest"
import { DEFAULTS } from "../options"
import type { RunFigures } from "../report"
import { climbTogether, SATURATION_LIMITS, SaturationSearch, saturationVerdict } from "../saturation"
import { run } from "./sample-report"

/** A run at `offered` of a system that keeps up to `ceiling` readings/s and handles half past it. */
function figures(offered: number, ceiling: number): RunFigures {
    const { latencies: _, ...f } = run(offered <= ceiling ? offered : offered / 2, 50, [1, 2])
    return { ...f, sentPerS: offered }
}

const CEILINGS: Record<string, number> = { ours: 12_000, lesson: 7_000 }

async function climb() {
    const searches = new Map([
        ["ours", new SaturationSearch("ours", 10_000, DEFAULTS)],
        ["lesson", new SaturationSearch("lesson", 10_000, DEFAULTS)],
    ])
    const steps: [string, number][] = []
    await climbTogether(searches, ["ours", "lesson"], (name, offered) => {
        steps.push([name, offered])
        return Promise.resolve(figures(offered, CEILINGS[name]))
    })
    return { steps, ours: searches.get("ours")!.result(), lesson: searches.get("lesson")!.result() }
}

describe("climbTogether", () => {
    test("the searches take turns, one step each per round, the order reversed every other round", async () => {
        const { steps } = await climb()
        // 2000 sustained by both; 3000 by both; then the order reverses each round
        expect(steps.slice(0, 6)).toEqual([
            ["ours", 2000],
            ["lesson", 2000],
            ["lesson", 3000],
            ["ours", 3000],
            ["ours", 4500],
            ["lesson", 4500],
        ])
    })

    test("each finds its own ceiling; the one that ends first drops out and the other goes on", async () => {
        const { steps, ours, lesson } = await climb()
        expect(ours.ceilingFound && lesson.ceilingFound).toBe(true)
        // within the search's resolution (×1.5 climbs, two midpoints: ×1.11) below each ceiling
        expect(ours.sustained!.offeredPerS).toBeLessThanOrEqual(12_000)
        expect(ours.sustained!.offeredPerS).toBeGreaterThan(12_000 / 1.12)
        expect(lesson.sustained!.offeredPerS).toBeLessThanOrEqual(7_000)
        expect(lesson.sustained!.offeredPerS).toBeGreaterThan(7_000 / 1.12)
        const lastLesson = steps.map(([name]) => name).lastIndexOf("lesson")
        expect(steps.slice(lastLesson + 1).every(([name]) => name === "ours")).toBe(true)
        expect(steps.length).toBe(ours.steps.length + lesson.steps.length)
    })
})

describe("SaturationSearch", () => {
    test("stops at its time budget, counting the time given for its own steps", () => {
        const search = new SaturationSearch("ours", 10_000, DEFAULTS)
        const stepMs = 20_000 // each step with its wait: 150 s allow 7 of them with a 3 s step ahead
        let steps = 0
        for (let offered = search.next; offered !== null && steps < 100; offered = search.next) {
            search.record(figures(offered, Infinity), stepMs)
            steps++
        }
        expect(steps).toBe(Math.floor((SATURATION_LIMITS.maxTotalSeconds - DEFAULTS.saturationSeconds) / 20) + 1)
        expect(search.result().stoppedBy).toMatch(/^time limit/)
        expect(search.result().ceilingFound).toBe(false)
    })
})

describe("a step's verdict", () => {
    const at = (p99: number, stallMs: number): RunFigures => {
        const { latencies: _, ...f } = run(5000, 50, [1, p99])
        return { ...f, generatorStallMs: stallMs }
    }

    test("a p99 over the limit names the load generator's stall when it stalled past the limit too", () => {
        expect(saturationVerdict(5000, at(300, 280))).toBe("p99 300 ms > 100 ms (the load generator stalled 280 ms)")
        expect(saturationVerdict(5000, at(300, 12))).toBe("p99 300 ms > 100 ms")
        expect(saturationVerdict(5000, at(40, 280))).toBeNull()
    })
})
