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
import type { RunFigures, SaturationResult, SaturationStep } from "./report"
import { SaturationPlan } from "./saturation-plan"
import { runStep } from "./step"
import { cpuMicros, type RunningSystem } from "./systems"

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
    if (run.latencyP99Ms !== null && run.latencyP99Ms > limits.maxP99Ms)
        return `p99 ${run.latencyP99Ms} ms > ${limits.maxP99Ms} ms`
    return null
}

export async function searchSaturation(
    system: RunningSystem,
    fleet: Fleet,
    options: Pick<
        Options,
        "saturationStart" | "saturationFactor" | "saturationSteps" | "saturationRefine" | "saturationSeconds"
    >,
    log: (line: string) => void
): Promise<SaturationResult> {
    const started = performance.now()
    const steps: SaturationStep[] = []
    const plan = new SaturationPlan({
        start: options.saturationStart,
        factor: options.saturationFactor,
        climbSteps: options.saturationSteps,
        refineSteps: options.saturationRefine,
    })
    let timeLimit: string | undefined
    for (let offered = plan.next; offered !== null; offered = plan.next) {
        // A step past the ceiling leaves a backlog (the broker's queues, the server's heap): the next one,
        // lower, starts once the system has worked it off, or it would be judged on the last one's load.
        await untilQuiet(system)
        const spentS = (performance.now() - started) / 1000
        if (spentS + options.saturationSeconds > SATURATION_LIMITS.maxTotalSeconds) {
            timeLimit = `time limit: the search may take ${SATURATION_LIMITS.maxTotalSeconds} s`
            break
        }
        log(`saturation: ${offered} readings/s for ${options.saturationSeconds} s${plan.again ? " (again)" : ""}`)
        const { latencies: _, ...figures } = await runStep(system, fleet, offered, options.saturationSeconds)
        const stop = saturationVerdict(offered, figures)
        steps.push({ offeredPerS: offered, figures, stop })
        plan.record(stop, figures.sentPerS < SATURATION_LIMITS.minSentRatio * offered)
    }
    const passed = steps.filter(s => s.stop === null)
    const best = passed.reduce<SaturationStep | undefined>(
        (a, b) => (!a || b.offeredPerS > a.offeredPerS ? b : a),
        undefined
    )
    return {
        system: system.name,
        devices: fleet.devices.length,
        stepSeconds: options.saturationSeconds,
        steps,
        sustained: best
            ? {
                  offeredPerS: best.offeredPerS,
                  handledPerS: best.figures.handledPerS,
                  cpuPercent: best.figures.cpuPercent,
                  generatorCpuPercent: best.figures.generatorCpuPercent,
                  machineCpuPercent: best.figures.machineCpuPercent,
              }
            : null,
        stoppedBy: timeLimit ?? plan.stoppedBy,
        limitedByGenerator: plan.limitedByGenerator,
        ceilingFound: plan.ceilingFound,
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
