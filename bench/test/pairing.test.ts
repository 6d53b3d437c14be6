/**
 * Paired runs' pure part (bench/pairing.ts): the order of the rounds, each round's ratios to the
 * reference, and their median and spread.
 */
import { describe, expect, test } from "vitest"
import { aroundReference, pairRatios, ratioSpread, roundOrder, summarizePaired, type PairedRound } from "../pairing"
import type { RunFigures } from "../report"
import { run } from "./sample-report"

/** A run's figures with the CPU per reading and p99 given (the rest as in the sample report). */
function figures(cpu: number | null, p99: number | null = 5): RunFigures {
    const { latencies: _, ...rest } = run(5000, cpu ?? 0, [1, p99 ?? 1])
    return { ...rest, cpuMicrosPerReading: cpu, latencyP99Ms: p99 }
}

function rounds(...cpus: Record<string, number | null>[]): PairedRound[] {
    return cpus.map(cpu => ({
        order: Object.keys(cpu),
        runs: Object.fromEntries(Object.entries(cpu).map(([name, value]) => [name, figures(value)])),
    }))
}

describe("the order of the rounds", () => {
    test("puts the reference second, so it runs next to ours and to the next system", () => {
        expect(aroundReference(["ours", "lesson", "floor"], "lesson")).toEqual(["ours", "lesson", "floor"])
        expect(aroundReference(["ours", "floor", "lesson"], "lesson")).toEqual(["ours", "lesson", "floor"])
        expect(aroundReference(["ours", "lesson", "lesson-aedes", "floor"], "lesson")).toEqual([
            "ours",
            "lesson",
            "lesson-aedes",
            "floor",
        ])
        expect(aroundReference(["A", "B"], "A")).toEqual(["A", "B"])
        expect(aroundReference(["ours", "lesson"], "lesson")).toEqual(["ours", "lesson"])
        expect(aroundReference(["a", "b", "ref", "c", "d"], "ref")).toEqual(["a", "ref", "b", "c", "d"])
        expect(() => aroundReference(["ours", "floor"], "lesson")).toThrow("the reference lesson is not among")
    })

    test("alternates forwards and backwards: no system always goes first, the reference stays beside each", () => {
        const order = ["ours", "lesson", "floor"]
        const turns = [0, 1, 2, 3].map(r => roundOrder(order, r))
        expect(turns).toEqual([order, ["floor", "lesson", "ours"], order, ["floor", "lesson", "ours"]])
        // over each two rounds, every system goes first as often as last
        for (const name of order)
            expect(turns.filter(t => t[0] === name).length).toBe(turns.filter(t => t.at(-1) === name).length)
        // and ours runs before the lesson as often as after it
        expect(turns.filter(t => t.indexOf("ours") < t.indexOf("lesson")).length).toBe(2)
        for (const turn of turns) expect(Math.abs(turn.indexOf("lesson") - turn.indexOf("ours"))).toBe(1)
        expect(roundOrder(["A", "B"], 5)).toEqual(["B", "A"])
    })

    test("gives each round a copy: the caller's list is left as it was", () => {
        const order = ["ours", "lesson"]
        roundOrder(order, 1).push("floor")
        expect(order).toEqual(["ours", "lesson"])
    })
})

describe("the ratios of the rounds", () => {
    test("divides each round's figure by the reference's in the same round, none where one is missing", () => {
        const r = rounds(
            { ours: 40, lesson: 50 },
            { ours: 90, lesson: 100 },
            { ours: null, lesson: 40 },
            { ours: 8, lesson: 0 }
        )
        expect(pairRatios(r, "ours", "lesson", "cpuMicrosPerReading")).toEqual([0.8, 0.9, null, null])
        // three significant digits: a tiny ratio is not rounded away to 0
        const tiny = rounds({ ours: 0.48, lesson: 2358 })
        expect(pairRatios(tiny, "ours", "lesson", "cpuMicrosPerReading")).toEqual([0.000204])
        expect(ratioSpread([0.000204, 0.0004])).toMatchObject({ min: 0.000204, median: 0.000302, max: 0.0004 })
    })

    test("spread: median, min–max and quartiles of the ratios there are", () => {
        expect(ratioSpread([1.2, 0.8, null, 1, 0.9, 1.1])).toEqual({
            pairs: 5,
            min: 0.8,
            q1: 0.9,
            median: 1,
            q3: 1.1,
            max: 1.2,
        })
        // an even count: the median between the middle two, the quartiles between ranks
        expect(ratioSpread([0.6, 1.0, 1.4, 1.8])).toEqual({
            pairs: 4,
            min: 0.6,
            q1: 0.9,
            median: 1.2,
            q3: 1.5,
            max: 1.8,
        })
        expect(ratioSpread([0.61])).toEqual({ pairs: 1, min: 0.61, q1: 0.61, median: 0.61, q3: 0.61, max: 0.61 })
        expect(ratioSpread([null, null])).toBeNull()
    })

    test("a machine that slows down in the middle moves both systems, and the ratio stays", () => {
        // the drift: each system's CPU per reading moves by a third between rounds
        const step = summarizePaired({
            devices: 10_000,
            offeredPerS: 5000,
            seconds: 5,
            systems: ["ours", "lesson", "floor"],
            reference: "lesson",
            rounds: rounds(
                { ours: 92, lesson: 100, floor: 25 },
                { floor: 37.5, lesson: 150, ours: 138 },
                { ours: 96, lesson: 104, floor: 26 }
            ),
        })
        expect(step.medians.ours.cpuMicrosPerReading).toEqual({ min: 92, median: 96, max: 138 })
        expect(step.medians.lesson.cpuMicrosPerReading).toEqual({ min: 100, median: 104, max: 150 })
        const cpu = (of: string) => step.ratios.find(r => r.of === of && r.figure === "cpuMicrosPerReading")!
        expect(cpu("ours").perRound).toEqual([0.92, 0.92, 0.923])
        expect(cpu("ours").spread).toMatchObject({ min: 0.92, median: 0.92, max: 0.923 })
        expect(cpu("floor").spread).toMatchObject({ min: 0.25, median: 0.25, max: 0.25 })
        // every figure of every system but the reference, over the reference
        expect(step.ratios.map(r => `${r.of}/${r.to} ${r.figure}`)).toContain("ours/lesson latencyP99Ms")
        expect(step.ratios.every(r => r.to === "lesson" && r.of !== "lesson")).toBe(true)
        expect(step.ratios).toHaveLength(2 * 5)
    })
})
