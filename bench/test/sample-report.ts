/**
 * A small bench report for the page's tests: ours and the lesson at 5000/s, three runs each, and the
 * parts of a run (a step's runs, a step) for tests that build their own.
 */
import type { FirmwareResult } from "../firmware"
import { DEFAULTS } from "../options"
import { summarizePaired, type PairedSection } from "../pairing"
import { headline, summarize, type BenchReport, type StepRun, type SaturationResult, type StepRuns } from "../report"
import type { SystemName } from "../systems"

export function run(handled: number, cpu: number, latencies: number[], lost = 0, rssMB = 390.5): StepRun {
    return {
        sentPerS: 5000,
        handledPerS: handled,
        cpuMicrosPerReading: cpu,
        cpuPercent: Math.round((cpu * handled) / 1e4),
        generatorCpuPercent: 20,
        generatorStallMs: 4,
        helperCpuPercent: null,
        machineCpuPercent: 90,
        otherCpuPercent: 7,
        latencyP50Ms: latencies[Math.floor(latencies.length / 2)],
        latencyP99Ms: latencies[latencies.length - 1],
        crossingsAnswered: latencies.length,
        crossingsLost: 0,
        readingsSent: 25_000,
        readingsLost: lost,
        devicesShort: lost > 0 ? 1 : 0,
        wrongLeds: 0,
        rssMB,
        commandsPerReading: 0.1,
        latencies,
    }
}

export function step(system: SystemName, runs: StepRun[]): StepRuns {
    const handledBy = system === "ours" || system === "floor" ? "acks" : "commands"
    return { system, devices: 10_000, offeredPerS: 5000, handledBy, runs }
}

export function report(extra: Partial<BenchReport> = {}): BenchReport {
    const results = summarize([
        step("ours", [
            run(4991, 71.5, [0.4, 0.5, 3.2]),
            run(4993, 77.25, [0.45, 0.6, 4.1]),
            run(4990, 70.5, [0.5, 9.9]),
        ]),
        step("lesson", [
            run(4995, 39.5, [1.8, 3.6], 0, 48),
            run(4996, 40.5, [1.9, 3.7], 0, 48),
            run(4994, 41, [1.7, 3.5], 0, 48),
        ]),
    ])
    return {
        date: "2026-11-26T00:00:00.000Z",
        node: "v20.20.2",
        machine: { cpus: 2, cpuModel: "AMD EPYC", memoryGB: 23.5, loadAverage: [1, 1, 1] },
        durationS: 400,
        options: { ...DEFAULTS, repeats: 3, rates: [5000], firmware: 0 },
        results,
        headline: headline(results),
        saturation: null,
        saturationRatio: null,
        saturationRatioIs: null,
        firmware: null,
        ...extra,
    }
}

/** A saturation search of `system`: [offered, handled, why it stopped or null] per step. */
export function search(
    system: SystemName,
    rates: [number, number, string | null][],
    ceilingFound: boolean
): SaturationResult {
    const steps = rates.map(([offered, handled, stop]) => ({
        offeredPerS: offered,
        figures: { ...run(handled, 50, [1]), sentPerS: offered },
        stop,
    }))
    const best = steps.filter(s => s.stop === null).pop()!
    return {
        system,
        devices: 10_000,
        stepSeconds: 3,
        steps,
        sustained: {
            offeredPerS: best.offeredPerS,
            handledPerS: best.figures.handledPerS,
            cpuPercent: 60,
            generatorCpuPercent: 30,
            machineCpuPercent: 150,
        },
        stoppedBy: ceilingFound ? "10125/s, twice: p99 391.18 ms > 100 ms" : "no step fell behind",
        limitedByGenerator: false,
        ceilingFound,
    }
}

/** The real firmware's section: three toggles on each server. */
export const FIRMWARE: FirmwareResult = {
    reaction: [
        {
            system: "ours",
            toggles: 3,
            answered: 3,
            misses: 0,
            p50Ms: 80.5,
            p90Ms: 140,
            p99Ms: 153.5,
            maxMs: 153.5,
            samplesMs: [14.9, 80.5, 153.5],
        },
        {
            system: "lesson",
            toggles: 3,
            answered: 3,
            misses: 0,
            p50Ms: 81.2,
            p90Ms: 147,
            p99Ms: 148.5,
            maxMs: 148.5,
            samplesMs: [20, 81.2, 148.5],
        },
    ],
    p50Ratio: 0.99,
    p99Ratio: 1.03,
    footprint: [{ board: "xiao_nightlight", bytecodeBytes: 18976, rebuilt: false }],
}

/** A paired section: ours, the lesson and the floor in four rounds at 5000/s, the machine slower in two. */
export function paired(): PairedSection {
    const round = (order: string[], cpu: Record<string, number>, p99: Record<string, number>) => ({
        order,
        runs: Object.fromEntries(
            order.map(name => {
                const { latencies: _, ...figures } = run(4990, cpu[name], [0.4, p99[name]])
                return [name, figures]
            })
        ),
        idleGeneratorsCpuPercent: [1, 0.5, 1],
    })
    const forwards = ["ours", "lesson", "floor"]
    const backwards = ["floor", "lesson", "ours"]
    return {
        kind: "systems",
        labels: {},
        fleets: forwards.map(system => ({ system, devices: 10_000, connectMs: 3100, rssMB: 130.5 })),
        steps: [
            summarizePaired({
                devices: 10_000,
                offeredPerS: 5000,
                seconds: 5,
                systems: forwards,
                reference: "lesson",
                rounds: [
                    round(forwards, { ours: 48, lesson: 40, floor: 12 }, { ours: 6, lesson: 3, floor: 0.4 }),
                    round(backwards, { ours: 72, lesson: 60, floor: 18 }, { ours: 12, lesson: 4, floor: 0.5 }),
                    round(forwards, { ours: 96, lesson: 80, floor: 24 }, { ours: 9, lesson: 3, floor: 0.3 }),
                    round(backwards, { ours: 40, lesson: 40, floor: 12 }, { ours: 6, lesson: 2, floor: 0.4 }),
                ],
            }),
        ],
    }
}
