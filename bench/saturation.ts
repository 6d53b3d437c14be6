/**
 * The saturation search: raise the offered rate step by step (×factor, short steps, bounded in count and
 * time) until the system falls behind twice in a row at the same rate, narrow the ceiling down between
 * the last rate sustained and that one (saturation-plan.ts), and report the highest rate sustained. The
 * load generator shares the cores with the system, so its own CPU is kept with every step, and a step
 * where it could not even send the offered rate ends the search as "limited by the generator" (the
 * system's ceiling is then higher than what this machine can show).
 */
import { sleep, type Fleet } from "./load"
import type { Options } from "./options"
import { roundOrder } from "./pairing"
import type { RunFigures, SaturationResult, SaturationStep } from "./report"
import { SaturationPlan } from "./saturation-plan"
import { runStep } from "./step"
import { cpuMicros, type RunningSystem, type SystemName } from "./systems"

/** What "sustained" means. */
export const SATURATION_LIMITS = {
    /** the generator sent at least this share of the offered rate; else it, not the system, is the limit */
    minSentRatio: 0.95,
    /** handled/s at least this share of the offered rate */
    minHandledRatio: 0.9,
    /** crossings left unanswered */
    maxCrossingsLost: 0,
    /** reading → command, 99th percentile (ms) */
    maxP99Ms: 100,
    /** the whole search of one system, settle times included, at most (s) */
    maxTotalSeconds: 150,
    /** before a step, the system's CPU (% of one core, over quietPollMs) must fall below this... */
    quietCpuPercent: 15,
    quietPollMs: 250,
    /** ...or this long pass (ms) */
    maxQuietWaitMs: 15_000,
}

/** Why the run does not count as sustained at `offered`, or null when it does. Pure. */
export function saturationVerdict(offered: number, run: RunFigures, limits = SATURATION_LIMITS): string | null {
    const percent = (n: number) => `${Math.round((n / offered) * 100)}%`
    if (run.sentPerS < limits.minSentRatio * offered)
        return (
            `the load generator fell behind: it sent ${percent(run.sentPerS)} of the offered rate (its CPU ` +
            `${run.generatorCpuPercent}%, the machine's ${run.machineCpuPercent}%, of one core)`
        )
    if (run.handledPerS < limits.minHandledRatio * offered)
        return `handled ${percent(run.handledPerS)} of the offered rate (< ${Math.round(limits.minHandledRatio * 100)}%)`
    if ((run.crossingsLost ?? 0) > limits.maxCrossingsLost) return `${run.crossingsLost} crossings lost`
    if (run.latencyP99Ms !== null && run.latencyP99Ms > limits.maxP99Ms) {
        // the fleet times each answer when its own loop gets to it: a stalled generator's p99 is its own
        const generator =
            run.generatorStallMs > limits.maxP99Ms ? ` (the load generator stalled ${run.generatorStallMs} ms)` : ""
        return `p99 ${run.latencyP99Ms} ms > ${limits.maxP99Ms} ms${generator}`
    }
    return null
}

export type SearchOptions = Pick<
    Options,
    "saturationStart" | "saturationFactor" | "saturationSteps" | "saturationRefine" | "saturationSeconds"
>

/**
 * One system's search, step by step: the caller runs each step `next` asks for and records it, so that
 * the searches of paired systems can take turns (climbTogether) as the steps of a paired run do.
 */
export class SaturationSearch {
    private readonly steps: SaturationStep[] = []
    private readonly plan: SaturationPlan
    /** this system's own time: its steps, and its waits for its backlog before them (ms) */
    private spentMs = 0
    private timeLimit?: string

    constructor(
        private readonly system: SystemName,
        private readonly devices: number,
        private readonly options: SearchOptions
    ) {
        this.plan = new SaturationPlan({
            start: options.saturationStart,
            factor: options.saturationFactor,
            climbSteps: options.saturationSteps,
            refineSteps: options.saturationRefine,
        })
    }

    /** The rate to offer next, or null: the search is over (its plan, or its time budget). */
    get next(): number | null {
        if (this.timeLimit !== undefined) return null
        const offered = this.plan.next
        if (offered === null) return null
        if (this.spentMs / 1000 + this.options.saturationSeconds > SATURATION_LIMITS.maxTotalSeconds) {
            this.timeLimit = `time limit: the search may take ${SATURATION_LIMITS.maxTotalSeconds} s`
            return null
        }
        return offered
    }

    /** The rate offered next failed once already. */
    get again(): boolean {
        return this.plan.again
    }

    /** The step at `next` ran, taking `ms` of this system's time with its wait before it. */
    record(figures: RunFigures, ms: number): void {
        const offered = this.plan.next!
        const stop = saturationVerdict(offered, figures)
        this.steps.push({ offeredPerS: offered, figures, stop })
        this.spentMs += ms
        this.plan.record(stop, figures.sentPerS < SATURATION_LIMITS.minSentRatio * offered)
    }

    result(): SaturationResult {
        const best = this.steps
            .filter(s => s.stop === null)
            .reduce<SaturationStep | undefined>((a, b) => (!a || b.offeredPerS > a.offeredPerS ? b : a), undefined)
        return {
            system: this.system,
            devices: this.devices,
            stepSeconds: this.options.saturationSeconds,
            steps: this.steps,
            sustained: best
                ? {
                      offeredPerS: best.offeredPerS,
                      handledPerS: best.figures.handledPerS,
                      cpuPercent: best.figures.cpuPercent,
                      generatorCpuPercent: best.figures.generatorCpuPercent,
                      machineCpuPercent: best.figures.machineCpuPercent,
                  }
                : null,
            stoppedBy: this.timeLimit ?? this.plan.stoppedBy,
            limitedByGenerator: this.plan.limitedByGenerator,
            ceilingFound: this.plan.ceilingFound,
        }
    }
}

/** One system's search on its own, start to end. */
export async function searchSaturation(
    system: RunningSystem,
    fleet: Fleet,
    options: SearchOptions,
    log: (line: string) => void
): Promise<SaturationResult> {
    const search = new SaturationSearch(system.name, fleet.devices.length, options)
    for (let offered = search.next; offered !== null; offered = search.next) {
        const t0 = performance.now()
        // A step past the ceiling leaves a backlog (the broker's queues, the server's heap): the next one,
        // lower, starts once the system has worked it off, or it would be judged on the last one's load.
        await untilQuiet(system)
        log(`saturation: ${offered} readings/s for ${options.saturationSeconds} s${search.again ? " (again)" : ""}`)
        const { latencies: _, ...figures } = await runStep(system, fleet, offered, options.saturationSeconds)
        search.record(figures, performance.now() - t0)
    }
    return search.result()
}

/**
 * The searches of paired systems taking turns, one step each per round in the order of the paired runs
 * (reversed every other round), so each system's climb meets the machine as the others' does. A system
 * whose search is over drops out; the others go on.
 */
export async function climbTogether(
    searches: Map<string, SaturationSearch>,
    order: string[],
    step: (name: string, offered: number) => Promise<RunFigures>
): Promise<void> {
    for (let round = 0; ; round++) {
        const turn = roundOrder(order, round).filter(name => searches.get(name)!.next !== null)
        if (turn.length === 0) return
        for (const name of turn) {
            const search = searches.get(name)!
            const t0 = performance.now()
            const figures = await step(name, search.next!)
            search.record(figures, performance.now() - t0)
        }
    }
}

/** Waits until the system's processes are nearly idle (bounded by SATURATION_LIMITS.maxQuietWaitMs). */
export async function untilQuiet(system: Pick<RunningSystem, "pids">, limits = SATURATION_LIMITS): Promise<void> {
    const deadline = performance.now() + limits.maxQuietWaitMs
    let before = cpuMicros(system.pids())
    while (performance.now() < deadline) {
        await sleep(limits.quietPollMs)
        const now = cpuMicros(system.pids())
        if (((now - before) / (limits.quietPollMs * 1000)) * 100 < limits.quietCpuPercent) return
        before = now
    }
}
