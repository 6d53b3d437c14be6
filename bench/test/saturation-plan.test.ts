/**
 * The saturation search's choice of rates (bench/saturation-plan.ts), run against a model system that
 * sustains every rate up to a ceiling: the search must report a ceiling within its resolution, try a
 * failed rate once more before believing it, and not refine what the generator, not the system, limited.
 */
import { describe, expect, test } from "vitest"
import { SaturationPlan, type SaturationPlanOptions } from "../saturation-plan"

const OPTIONS: SaturationPlanOptions = { start: 2000, factor: 1.5, climbSteps: 10, refineSteps: 2 }

/** Runs the plan against `verdict(rate)`; returns the rates offered, in order, and the plan. */
function search(
    verdict: (rate: number, attempt: number) => string | null,
    options = OPTIONS,
    generatorAbove = Infinity
) {
    const plan = new SaturationPlan(options)
    const offered: number[] = []
    for (let rate = plan.next; rate !== null && offered.length < 100; rate = plan.next) {
        offered.push(rate)
        const attempt = offered.filter(r => r === rate).length
        plan.record(verdict(rate, attempt), rate > generatorAbove)
    }
    const sustained = offered.filter(
        (rate, i) => verdict(rate, offered.slice(0, i + 1).filter(r => r === rate).length) === null
    )
    return { plan, offered, best: Math.max(0, ...sustained) }
}

const ceiling = (max: number) => (rate: number) => (rate <= max ? null : `handled less than 90% of ${rate}`)

describe("the saturation plan", () => {
    test("two systems between the same two climbing rates get different results", () => {
        // Both lie between 34,172 and 51,258: the climb alone reported 34,172 for each (a ratio of 1.0).
        const low = search(ceiling(39_000))
        const high = search(ceiling(49_000))
        expect(low.best).toBeGreaterThan(34_172)
        expect(high.best).toBeGreaterThan(low.best * 1.2)
        for (const [{ best }, truth] of [
            [low, 39_000],
            [high, 49_000],
        ] as const) {
            expect(best).toBeLessThanOrEqual(truth)
            expect(best).toBeGreaterThan(truth / 1.5 ** 0.25) // within the resolution of two midpoints
        }
        expect(high.plan.ceilingFound).toBe(true)
        expect(high.plan.stoppedBy).toMatch(/between \d+\/s \(sustained\) and \d+\/s \(not\)/)
    })

    test("climbs ×factor, runs a failed rate once more, then tries midpoints between sustained and failed", () => {
        const { offered } = search(ceiling(10_000))
        expect(offered).toEqual([2000, 3000, 4500, 6750, 10125, 10125, 8267, 9149])
    })

    test("a rate that fails once and then holds does not end the climb", () => {
        const flaky = (rate: number, attempt: number) =>
            rate === 4500 && attempt === 1 ? "a burst of other work" : null
        const { offered, plan } = search(flaky, { ...OPTIONS, climbSteps: 4 })
        expect(offered).toEqual([2000, 3000, 4500, 4500, 6750])
        expect(plan.ceilingFound).toBe(false)
        expect(plan.stoppedBy).toMatch(/no step fell behind \(4 steps/)
    })

    test("a climb the generator could not keep up with is not refined and finds no ceiling", () => {
        // Above 9000/s the generator cannot send the offered rate: the step fails, for the bench's reason.
        const limited = search(rate => (rate > 9000 ? "the load generator fell behind" : null), OPTIONS, 9000)
        expect(limited.offered).toEqual([2000, 3000, 4500, 6750, 10125, 10125])
        expect(limited.plan.ceilingFound).toBe(false)
        expect(limited.plan.limitedByGenerator).toBe(true)
    })

    test("a system that fails the first rate gets no midpoints below it", () => {
        const { offered, plan, best } = search(ceiling(100))
        expect(offered).toEqual([2000, 2000])
        expect(best).toBe(0)
        expect(plan.ceilingFound).toBe(true)
        expect(plan.next).toBeNull()
        expect(() => plan.record(null)).toThrow(/over/)
    })

    test("a system that never falls behind climbs to the last rate and finds no ceiling", () => {
        const { offered, plan } = search(ceiling(1e9))
        expect(offered).toHaveLength(10)
        expect(offered.at(-1)).toBe(Math.round(2000 * 1.5 ** 9))
        expect(plan.ceilingFound).toBe(false)
    })

    test("no refinement asked: the climb's result as before", () => {
        const { offered, plan } = search(ceiling(10_000), { ...OPTIONS, refineSteps: 0 })
        expect(offered).toEqual([2000, 3000, 4500, 6750, 10125, 10125])
        expect(plan.stoppedBy).toMatch(
            /^10125\/s, twice: .*; the ceiling lies between 6750\/s \(sustained\) and 10125\/s/
        )
    })
})
