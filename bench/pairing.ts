/**
 * Paired runs, the pure part: the order of each round (the systems take turns, alternately forwards and
 * backwards, so none always goes first and the reference is next to every other), each figure's ratio per
 * round (a system against the reference it ran beside), and the median and spread of those ratios. Two
 * systems run one after the other for minutes drift apart with the machine (issue 19: the same command an
 * hour apart gave CPU ratios of 1.06 and 0.61); runs seconds apart share its state, so their ratio holds.
 */
import type { RunFigures } from "./report"
import { median, spread, type Spread } from "./stats"

/** The figures a ratio is taken of (for all but handled/s, below 1 means cheaper or faster than the reference). */
export const PAIRED_FIGURES = ["cpuMicrosPerReading", "latencyP50Ms", "latencyP99Ms", "handledPerS", "rssMB"] as const
export type PairedFigure = (typeof PAIRED_FIGURES)[number]

/** The figures' names in the tables. */
export const FIGURE_NAMES: Record<PairedFigure, string> = {
    cpuMicrosPerReading: "CPU µs/rd",
    latencyP50Ms: "p50 ms",
    latencyP99Ms: "p99 ms",
    handledPerS: "handled/s",
    rssMB: "RSS MB",
}

/** The ratios of the rounds: median, min–max and the quartiles (IQR = q1..q3), over the rounds that have one. */
export interface RatioSpread {
    pairs: number
    min: number
    q1: number
    median: number
    q3: number
    max: number
}

/** One round: each system's run, in the order they ran. */
export interface PairedRound {
    order: string[]
    runs: Record<string, RunFigures>
    /** the generators (one process per fleet) of the systems not running, % of one core, summed per run */
    idleGeneratorsCpuPercent?: number[]
    /** the systems not running (idle, their fleets connected), % of one core, summed per run */
    idleSystemsCpuPercent?: number[]
}

/** `of` / `to` of one figure, per round and over them. */
export interface PairedRatio {
    of: string
    to: string
    figure: PairedFigure
    perRound: (number | null)[]
    spread: RatioSpread | null
}

/** One offered rate: its rounds, each system's medians over them, and the ratios to the reference. */
export interface PairedStep {
    devices: number
    offeredPerS: number
    seconds: number
    systems: string[]
    reference: string
    rounds: PairedRound[]
    medians: Record<string, Record<PairedFigure, Spread | null>>
    ratios: PairedRatio[]
}

/** What a fleet (its own generator process) costs, connected and idle. */
export interface FleetCost {
    system: string
    devices: number
    connectMs: number
    /** resident memory of the fleet's process once its devices are connected and warmed up */
    rssMB: number
}

/** The paired section of a report: the bench's paired systems or an A/B of our server. */
export interface PairedSection {
    kind: "systems" | "ab"
    /** what each name stands for (A/B: the trees compared) */
    labels: Record<string, string>
    fleets: FleetCost[]
    steps: PairedStep[]
}

/**
 * `names` with `reference` second, so that it runs next to the first named (ours, which the targets
 * compare) and to the next: [ours, floor, lesson] and lesson → [ours, lesson, floor]. With more than three
 * the rest run further from it ([ours, lesson, lesson-aedes, floor]). Two names stay as given.
 */
export function aroundReference(names: string[], reference: string): string[] {
    const others = names.filter(n => n !== reference)
    if (others.length === names.length) throw new Error(`the reference ${reference} is not among ${names.join(", ")}`)
    if (names.length <= 2) return [...names]
    return [others[0], reference, ...others.slice(1)]
}

/**
 * The order of round `round` (0, 1, ...): as given in even rounds, reversed in odd ones. Each system goes
 * first as often as last over two rounds, and a steady drift of the machine tilts the ratio one way in
 * even rounds and the other way in odd ones, so that their median sits between.
 */
export function roundOrder(names: string[], round: number): string[] {
    return round % 2 === 0 ? [...names] : [...names].reverse()
}

/** 3 significant digits: a ratio of 0.0002 stays one, not 0. */
const significant = (n: number) => Number(n.toPrecision(3))

/** `of` / `to` of `figure` in each round (3 significant digits); null where either is missing or `to` is 0. */
export function pairRatios(rounds: PairedRound[], of: string, to: string, figure: PairedFigure): (number | null)[] {
    return rounds.map(r => {
        const a = r.runs[of]?.[figure]
        const b = r.runs[to]?.[figure]
        return a == null || b == null || b === 0 ? null : significant(a / b)
    })
}

/** Median, min–max and quartiles (linear between ranks, 3 significant digits) of the ratios that are numbers; null when none is. */
export function ratioSpread(values: (number | null)[]): RatioSpread | null {
    const sorted = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b)
    if (sorted.length === 0) return null
    const at = (q: number) => {
        const rank = q * (sorted.length - 1)
        const below = Math.floor(rank)
        const above = Math.min(sorted.length - 1, below + 1)
        return sorted[below] + (sorted[above] - sorted[below]) * (rank - below)
    }
    return {
        pairs: sorted.length,
        min: significant(sorted[0]),
        q1: significant(at(0.25)),
        median: significant(median(sorted)!),
        q3: significant(at(0.75)),
        max: significant(sorted[sorted.length - 1]),
    }
}

/** A rate's rounds summed up: each system's medians (min–max) and every other system's ratios to the reference. */
export function summarizePaired(
    step: Pick<PairedStep, "devices" | "offeredPerS" | "seconds" | "systems" | "reference" | "rounds">
): PairedStep {
    const digits: Record<PairedFigure, number> = {
        cpuMicrosPerReading: 1,
        latencyP50Ms: 2,
        latencyP99Ms: 2,
        handledPerS: 0,
        rssMB: 1,
    }
    const medians: PairedStep["medians"] = {}
    for (const system of step.systems)
        medians[system] = Object.fromEntries(
            PAIRED_FIGURES.map(f => [
                f,
                spread(
                    step.rounds.map(r => r.runs[system]?.[f]),
                    digits[f]
                ),
            ])
        ) as Record<PairedFigure, Spread | null>
    const ratios: PairedRatio[] = []
    for (const of of step.systems.filter(s => s !== step.reference))
        for (const figure of PAIRED_FIGURES) {
            const perRound = pairRatios(step.rounds, of, step.reference, figure)
            ratios.push({ of, to: step.reference, figure, perRound, spread: ratioSpread(perRound) })
        }
    return { ...step, medians, ratios }
}

/** The ratio of `of` to the reference for `figure` in a paired step, if it was taken. */
export function pairedRatio(step: PairedStep, of: string, figure: PairedFigure): PairedRatio | undefined {
    return step.ratios.find(r => r.of === of && r.figure === figure)
}
