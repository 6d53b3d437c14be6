/**
 * What a bench run reports, in one shape for bench.json, the console tables (print.ts) and the HTML page
 * (html-report.ts): each step (system × offered rate) as the min/median/max of its repeated runs, with
 * each run's raw figures; the headline (the target scenario); the saturation search; and the
 * sections other parts add (the real firmware, and the scale-out that bench/scaleout.ts may fill in).
 */
import type { FirmwareResult } from "./firmware"
import type { ConfirmedBy } from "./load"
import type { Machine } from "./machine"
import type { Options } from "./options"
import { pairedRatio, type PairedSection, type RatioSpread } from "./pairing"
import type { CostPoint } from "./sharing-cost"
import { quantiles, ratio, spread, type Spread } from "./stats"
import type { SystemName } from "./systems"
import type { TargetCheck } from "./targets"

export { percentile } from "./stats"
export type { Spread } from "./stats"

/** Issue 19's targets (targets.ts judges a run by them). */
export const TARGET = {
    /** the scenario the targets are stated for: 10,000 devices, one reading per 2 s each */
    devices: 10_000,
    offeredPerS: 5000, // readings/s
    /** ours' CPU per reading at most this share of the lesson's (the long-term aim stays 1/3) */
    cpuRatioMax: 0.8,
    /** ours' highest sustained rate at least this many times the lesson's */
    saturationRatioMin: 1.2,
    /** ours' p99 reading→command at most this, and at most the lesson's */
    p99MaxMs: 20,
    /** ours' peak RSS at `devices` */
    rssMaxMB: 200,
}

/** One run of one step: what the bench measured. */
export interface RunFigures {
    /** readings the load generator actually published per second (it may fall behind the offered rate) */
    sentPerS: number
    /** readings confirmed per second within the step: by acks (ours), commands (lesson), or relayed messages */
    handledPerS: number
    /** CPU (user + system) of the system's processes in the step, per handled reading (relays: per message) */
    cpuMicrosPerReading: number | null
    /** the same CPU, % of one core */
    cpuPercent: number
    /** the bench process's own CPU (the load generator), % of one core: near 100, it is the limit */
    generatorCpuPercent: number
    /**
     * the load generator's longest event-loop stall in the step and its settling (ms): the fleet times
     * each command when its loop gets to it, so a p99 near this is the generator's, not the system's
     */
    generatorStallMs: number
    /** the relays' subscriber process, % of one core; null for systems without one */
    helperCpuPercent: number | null
    /** the whole machine, % of one core (200 = both cores of a 2-core machine busy) */
    machineCpuPercent: number
    /** everything else on the machine (other work sharing it, the OS), % of one core: the noise */
    otherCpuPercent: number
    /** reading that crosses the threshold → command with the new led_on (relays: reading → subscriber) */
    latencyP50Ms: number | null
    latencyP99Ms: number | null
    /** crossings answered by the right command; null for the relays, which answer nothing */
    crossingsAnswered: number | null
    /** crossings not answered before the next crossing of the device, or by the end of the settle time */
    crossingsLost: number | null
    readingsSent: number
    /** readings of the step still unconfirmed after the settle time */
    readingsLost: number
    /** devices with such a reading; null for the relays (one subscriber counts them all) */
    devicesShort: number | null
    /** devices whose LED after the settle time is not what their last reading calls for; null for the relays */
    wrongLeds: number | null
    /** peak resident memory of the system's processes */
    rssMB: number
    /** commands the devices received per reading sent */
    commandsPerReading: number | null
}

/** A run with its latency samples (pooled into the summary's distribution, not written one by one). */
export interface StepRun extends RunFigures {
    latencies: number[]
}

/** A step (system × offered rate): the spread of its runs, medians for the ratios. */
export interface StepSummary {
    system: SystemName
    devices: number
    offeredPerS: number
    handledBy: ConfirmedBy
    repeats: number
    sentPerS: Spread
    handledPerS: Spread
    cpuMicrosPerReading: Spread | null
    cpuPercent: Spread
    generatorCpuPercent: Spread
    helperCpuPercent: Spread | null
    machineCpuPercent: Spread
    otherCpuPercent: Spread
    latencyP50Ms: Spread | null
    latencyP99Ms: Spread | null
    rssMB: Spread
    /** sums over the runs */
    crossingsAnswered: number | null
    crossingsLost: number | null
    readingsSent: number
    readingsLost: number
    wrongLeds: number | null
    commandsPerReading: number | null
    /** every reading confirmed, every crossing answered, every LED right, in every run */
    nothingLost: boolean
    /** latency at each whole percentile 0..100 over all runs' samples (ms) */
    latencyCdfMs: number[] | null
    /** ours only: ours / lesson at the same rate and fleet, of the medians (CPU below 1: ours cheaper) */
    cpuRatio?: number | null
    /** ours only: handled/s, ours / lesson (1 while both keep up) */
    throughputRatio?: number | null
    runs: RunFigures[]
}

/** The target scenario (or the nearest step this run had): ours against the lesson. */
export interface Headline {
    devices: number
    offeredPerS: number
    /** the run had exactly the target scenario (10,000 devices at 5000/s) */
    isTarget: boolean
    oursCpuMicrosPerReading: Spread | null
    lessonCpuMicrosPerReading: Spread | null
    cpuRatio: number | null
    cpuRatioMax: number
    cpuTargetMet: boolean | null
    oursNothingLost: boolean
    oursReadingsLost: number
    oursCrossingsLost: number | null
    oursWrongLeds: number | null
    /** the floor (a bare Node endpoint answering our protocol) at the same step, and its ratio to the lesson */
    floorCpuMicrosPerReading: Spread | null
    floorCpuRatio: number | null
    /** paired runs (pairing.ts): ours / lesson per round, their median and spread; absent in older reports */
    cpuRatioPaired?: RatioSpread | null
    p99RatioPaired?: RatioSpread | null
}

export interface SaturationStep {
    offeredPerS: number
    figures: RunFigures
    /** why the search stopped at this step; null when the system sustained it */
    stop: string | null
}

export interface SaturationResult {
    system: SystemName
    devices: number
    stepSeconds: number
    steps: SaturationStep[]
    /** the highest step sustained; null when not even the first was */
    sustained: {
        offeredPerS: number
        handledPerS: number
        cpuPercent: number
        generatorCpuPercent: number
        machineCpuPercent: number
    } | null
    stoppedBy: string
    /** the load generator fell behind first: the system's ceiling is above `sustained` */
    limitedByGenerator: boolean
    /** the system itself fell behind: `sustained` is its ceiling here (else only a lower bound) */
    ceilingFound: boolean
}

/** Several server instances on one broker (bench/scaleout.ts, when it runs). */
export interface ScaleOutRow {
    instances: number
    handledPerS: Spread
    cpuMicrosPerReading: Spread
    /** the servers' CPU per reading by the load per server (sharing-cost.ts); absent in older reports */
    costCurve?: CostPoint[]
    /** that CPU against one server's at the same load per server; null: one server, or no load in common */
    sharingCost?: number | null
}

export interface BenchReport {
    date: string
    node: string
    machine: Machine
    durationS: number
    options: Options
    results: StepSummary[]
    headline: Headline | null
    saturation: SaturationResult[] | null
    /** ours / lesson of the sustained handled/s (target ≥ TARGET.saturationRatioMin) */
    saturationRatio: number | null
    /** whether both ceilings were found; when one was not, the ratio is only a bound */
    saturationRatioIs: SaturationRatioKind | null
    /** the same for our server on Mosquitto ("ours-mosquitto"): the two stacks differ only in their server */
    saturationRatioOnMosquitto?: number | null
    saturationRatioOnMosquittoIs?: SaturationRatioKind | null
    scaleOut?: ScaleOutRow[]
    firmware: FirmwareResult | null
    /** the paired runs (ours, the lesson, lesson-aedes and the floor taking turns, or an A/B); absent when none ran */
    paired?: PairedSection
    /** issue 19's targets judged on this run (targets.ts); absent in older reports */
    targets?: TargetCheck[]
}

export interface StepRuns {
    system: SystemName
    devices: number
    offeredPerS: number
    handledBy: ConfirmedBy
    runs: StepRun[]
}

/** Our systems: their steps get ratios to the lesson's. */
export const OUR_SYSTEMS: readonly SystemName[] = ["ours", "ours-mosquitto"]

/** Spreads of each step, and our systems' ratios to the lesson at the same rate and fleet size. */
export function summarize(steps: StepRuns[]): StepSummary[] {
    const summaries = steps.map(summarizeStep)
    for (const ours of summaries.filter(s => OUR_SYSTEMS.includes(s.system))) {
        const lesson = summaries.find(
            s => s.system === "lesson" && s.offeredPerS === ours.offeredPerS && s.devices === ours.devices
        )
        if (!lesson) continue
        ours.cpuRatio = ratio(ours.cpuMicrosPerReading?.median, lesson.cpuMicrosPerReading?.median)
        ours.throughputRatio = ratio(ours.handledPerS.median, lesson.handledPerS.median)
    }
    return summaries
}

function summarizeStep(step: StepRuns): StepSummary {
    const runs = step.runs
    const of = <K extends keyof RunFigures>(key: K) => runs.map(r => r[key] as number | null)
    const sum = (key: keyof RunFigures): number | null =>
        runs.some(r => r[key] === null) ? null : runs.reduce((total, r) => total + (r[key] as number), 0)
    const summary: StepSummary = {
        system: step.system,
        devices: step.devices,
        offeredPerS: step.offeredPerS,
        handledBy: step.handledBy,
        repeats: runs.length,
        sentPerS: spread(of("sentPerS"), 0)!,
        handledPerS: spread(of("handledPerS"), 0)!,
        cpuMicrosPerReading: spread(of("cpuMicrosPerReading"), 1),
        cpuPercent: spread(of("cpuPercent"), 0)!,
        generatorCpuPercent: spread(of("generatorCpuPercent"), 0)!,
        helperCpuPercent: spread(of("helperCpuPercent"), 0),
        machineCpuPercent: spread(of("machineCpuPercent"), 0)!,
        otherCpuPercent: spread(of("otherCpuPercent"), 0)!,
        latencyP50Ms: spread(of("latencyP50Ms"), 2),
        latencyP99Ms: spread(of("latencyP99Ms"), 2),
        rssMB: spread(of("rssMB"), 1)!,
        crossingsAnswered: sum("crossingsAnswered"),
        crossingsLost: sum("crossingsLost"),
        readingsSent: sum("readingsSent")!,
        readingsLost: sum("readingsLost")!,
        wrongLeds: sum("wrongLeds"),
        commandsPerReading: spread(of("commandsPerReading"), 3)?.median ?? null,
        nothingLost: false,
        latencyCdfMs: quantiles(runs.flatMap(r => r.latencies)),
        runs: runs.map(({ latencies: _, ...figures }) => figures),
    }
    summary.nothingLost = summary.readingsLost === 0 && !summary.crossingsLost && !summary.wrongLeds
    return summary
}

/**
 * The target scenario's row when the run had it; else ours' highest rate that the lesson also ran; with
 * the paired ratios at that step when the run was paired.
 */
export function headline(results: StepSummary[], section?: PairedSection): Headline | null {
    const compared = results.filter(
        r => r.system === "ours" && results.some(l => l.system === "lesson" && l.offeredPerS === r.offeredPerS)
    )
    const candidates = compared.length > 0 ? compared : results.filter(r => r.system === "ours")
    if (candidates.length === 0) return null
    const ours =
        candidates.find(r => r.offeredPerS === TARGET.offeredPerS && r.devices === TARGET.devices) ??
        candidates.reduce((a, b) => (b.offeredPerS > a.offeredPerS ? b : a))
    const lesson = results.find(
        r => r.system === "lesson" && r.offeredPerS === ours.offeredPerS && r.devices === ours.devices
    )
    const cpuRatio = ours.cpuRatio ?? null
    const paired = pairedRatios(ours, section)
    // the pairs' median where the run was paired: the ratio of medians drifts with the machine
    const judged = paired.cpuRatioPaired?.median ?? cpuRatio
    const floor = results.find(
        r => r.system === "floor" && r.offeredPerS === ours.offeredPerS && r.devices === ours.devices
    )
    return {
        devices: ours.devices,
        offeredPerS: ours.offeredPerS,
        isTarget: ours.devices === TARGET.devices && ours.offeredPerS === TARGET.offeredPerS,
        oursCpuMicrosPerReading: ours.cpuMicrosPerReading,
        lessonCpuMicrosPerReading: lesson?.cpuMicrosPerReading ?? null,
        cpuRatio,
        cpuRatioMax: Number(TARGET.cpuRatioMax.toFixed(3)),
        cpuTargetMet: judged === null ? null : judged <= TARGET.cpuRatioMax,
        oursNothingLost: ours.nothingLost,
        oursReadingsLost: ours.readingsLost,
        oursCrossingsLost: ours.crossingsLost,
        oursWrongLeds: ours.wrongLeds,
        floorCpuMicrosPerReading: floor?.cpuMicrosPerReading ?? null,
        floorCpuRatio: ratio(floor?.cpuMicrosPerReading?.median, lesson?.cpuMicrosPerReading?.median),
        ...paired,
    }
}

function pairedRatios(ours: StepSummary, paired: PairedSection | undefined): Partial<Headline> {
    const step = paired?.steps.find(
        s => s.offeredPerS === ours.offeredPerS && s.devices === ours.devices && s.reference === "lesson"
    )
    if (!step) return {}
    return {
        cpuRatioPaired: pairedRatio(step, "ours", "cpuMicrosPerReading")?.spread ?? null,
        p99RatioPaired: pairedRatio(step, "ours", "latencyP99Ms")?.spread ?? null,
    }
}

export type SaturationRatioKind = "measured" | "at most" | "at least" | "neither ceiling found"

/** `system` / lesson of the highest sustained handled/s, and whether it is a measure or only a bound. */
export function saturationRatio(
    results: SaturationResult[],
    system: SystemName = "ours"
): {
    ratio: number | null
    is: SaturationRatioKind | null
} {
    const ours = results.find(r => r.system === system)
    const lesson = results.find(r => r.system === "lesson")
    const value = ratio(ours?.sustained?.handledPerS, lesson?.sustained?.handledPerS)
    if (value === null || !ours || !lesson) return { ratio: value, is: null }
    // a ceiling not found is a lower bound of that system's
    const is: SaturationRatioKind =
        ours.ceilingFound && lesson.ceilingFound
            ? "measured"
            : ours.ceilingFound
              ? "at most"
              : lesson.ceilingFound
                ? "at least"
                : "neither ceiling found"
    return { ratio: value, is }
}
