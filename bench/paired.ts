/**
 * Paired runs: every compared system is started once, each with its own fleet in its own process
 * (remote-fleet.ts), connected and warmed up; then, per offered rate and repeat, one short step of each
 * system in turn, the order alternating (pairing.ts), so each round's ratios compare runs seconds apart.
 * Optionally the systems' saturation searches after the steps, each with its own fleet, taking turns
 * step by step as well. See bench/README.md.
 */
import type { ConfirmedBy } from "./load"
import type { Options } from "./options"
import {
    aroundReference,
    roundOrder,
    summarizePaired,
    type FleetCost,
    type PairedRound,
    type PairedStep,
} from "./pairing"
import { RemoteFleet } from "./remote-fleet"
import { climbTogether, SATURATION_LIMITS, SaturationSearch, untilQuiet } from "./saturation"
import type { RunFigures, SaturationResult, StepRun } from "./report"
import { round } from "./stats"
import { cpuMicros, type RunningSystem } from "./systems"

/** Before a step, the others' processes below 15% of one core, waited for at most this long (ms). */
const QUIET = { ...SATURATION_LIMITS, maxQuietWaitMs: 3000 }

/** A system of a paired run: its name in the report, and how to start it. */
export interface PairedSystem {
    name: string
    start: () => Promise<RunningSystem>
}

export interface PairedOutcome {
    fleets: FleetCost[]
    steps: PairedStep[]
    /** every run of each system at each rate, with its latency samples (for the per-system summaries) */
    runs: { name: string; offeredPerS: number; handledBy: ConfirmedBy; runs: StepRun[] }[]
    saturation: { name: string; result: SaturationResult }[]
}

interface Entrant {
    name: string
    system: RunningSystem
    fleet: RemoteFleet
}

export async function benchPaired(
    systems: PairedSystem[],
    reference: string,
    options: Pick<Options, "devices" | "rates" | "seconds" | "repeats"> & { saturationSearch?: Options },
    prefix: string,
    log: (line: string) => void
): Promise<PairedOutcome> {
    const entrants: Entrant[] = []
    const outcome: PairedOutcome = { fleets: [], steps: [], runs: [], saturation: [] }
    try {
        for (const { name, start } of systems) {
            log(`${name}: starting`)
            const system = await start()
            const fleet = RemoteFleet.start(
                system.url,
                options.devices,
                `${prefix}${name.replace(/[^a-z0-9]/gi, "")}`,
                system.confirmedBy,
                line => log(`${name}: ${line}`)
            )
            entrants.push({ name, system, fleet })
        }
        // one fleet at a time: connecting 10,000 devices keeps a core busy
        for (const { name, fleet } of entrants) {
            const { connectMs, answered, rssMB } = await fleet.connect()
            log(
                `${name}: ${options.devices} devices connected in ${connectMs} ms, fleet process RSS ${round(rssMB)} MB`
            )
            if (answered < options.devices)
                log(`!!! ${name}: only ${answered} of ${options.devices} devices were answered in the warm-up`)
            outcome.fleets.push({ system: name, devices: options.devices, connectMs, rssMB: round(rssMB) })
        }
        const order = aroundReference(
            entrants.map(e => e.name),
            reference
        )
        let roundIndex = 0
        for (const rate of options.rates) {
            const rounds: PairedRound[] = []
            const samples = new Map<string, StepRun[]>(order.map(name => [name, []]))
            for (let repeat = 1; repeat <= options.repeats; repeat++) {
                const turn = roundOrder(order, roundIndex++)
                const runs: Record<string, RunFigures> = {}
                const idleFleets: number[] = []
                const idleSystems: number[] = []
                for (const name of turn) {
                    const { run, idle } = await stepOf(entrants, name, rate, options.seconds)
                    const { latencies: _, ...figures } = run
                    runs[name] = figures
                    idleFleets.push(idle.fleets)
                    idleSystems.push(idle.systems)
                    samples.get(name)!.push(run)
                    log(
                        `${name}: ${rate}/s, round ${repeat}/${options.repeats}: handled ${run.handledPerS}/s, ` +
                            `${run.cpuMicrosPerReading} µs/rd, p99 ${run.latencyP99Ms} ms, lost ${run.readingsLost}, ` +
                            `gen CPU ${run.generatorCpuPercent}%, gen stall ${run.generatorStallMs} ms, idle: fleets ${idle.fleets}%, systems ${idle.systems}%`
                    )
                }
                rounds.push({
                    order: turn,
                    runs,
                    idleGeneratorsCpuPercent: idleFleets,
                    idleSystemsCpuPercent: idleSystems,
                })
            }
            outcome.steps.push(
                summarizePaired({
                    devices: options.devices,
                    offeredPerS: rate,
                    seconds: options.seconds,
                    systems: order,
                    reference,
                    rounds,
                })
            )
            for (const { name, system } of entrants)
                outcome.runs.push({ name, offeredPerS: rate, handledBy: system.confirmedBy, runs: samples.get(name)! })
        }
        if (options.saturationSearch) outcome.saturation = await climbPaired(entrants, order, options, log)
        return outcome
    } finally {
        for (const { fleet } of entrants) await fleet.close()
        for (const { system } of entrants) await system.stop()
    }
}

/** The paired systems' saturation searches, taking turns step by step (saturation.ts climbTogether). */
async function climbPaired(
    entrants: Entrant[],
    order: string[],
    options: Pick<Options, "devices"> & { saturationSearch?: Options },
    log: (line: string) => void
): Promise<PairedOutcome["saturation"]> {
    const o = options.saturationSearch!
    const searches = new Map(entrants.map(e => [e.name, new SaturationSearch(e.system.name, options.devices, o)]))
    await climbTogether(searches, order, async (name, offered) => {
        // its own backlog from its last step past the ceiling, then the others' quiet (stepOf)
        await untilQuiet(entrants.find(e => e.name === name)!.system)
        const again = searches.get(name)!.again ? " (again)" : ""
        const { run } = await stepOf(entrants, name, offered, o.saturationSeconds)
        const { latencies: _, ...figures } = run
        log(
            `${name}: saturation: ${offered}/s${again}: handled ${figures.handledPerS}/s, ` +
                `p99 ${figures.latencyP99Ms} ms, gen CPU ${figures.generatorCpuPercent}%`
        )
        return figures
    })
    return [...searches].map(([name, search]) => {
        const result = search.result()
        log(`${name}: saturation: ${result.stoppedBy}`)
        return { name, result }
    })
}

/**
 * One step of `name` once the other systems are quiet, and what the other systems and their fleets'
 * processes spent meanwhile (% of one core): idle, they should cost next to nothing.
 */
async function stepOf(
    entrants: Entrant[],
    name: string,
    rate: number,
    seconds: number
): Promise<{ run: StepRun; idle: { fleets: number; systems: number } }> {
    const entrant = entrants.find(e => e.name === name)!
    const others = entrants.filter(e => e !== entrant)
    // what the last system still does after its step (a flush, a checkpoint, GC) is not this one's load
    await untilQuiet({ pids: () => others.flatMap(e => e.system.pids()) }, QUIET)
    const fleetPids = others.map(e => e.fleet.pid)
    const systemPids = others.flatMap(e => e.system.pids())
    const fleets0 = cpuMicros(fleetPids)
    const systems0 = cpuMicros(systemPids)
    const t0 = performance.now()
    const run = await entrant.fleet.step(entrant.system, rate, seconds)
    const percent = (micros: number) => round((micros / ((performance.now() - t0) * 1000)) * 100, 1)
    const idle = { fleets: percent(cpuMicros(fleetPids) - fleets0), systems: percent(cpuMicros(systemPids) - systems0) }
    return { run, idle }
}
