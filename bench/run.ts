/**
 * `npm run bench`: our server (embedded broker) against the lesson's stack (Mosquitto + the lesson's
 * Python server) under the same simulated fleet, on loopback, with Mosquitto and aedes alone as relay
 * baselines; ours, the lesson, the lesson on aedes and the floor in paired rounds (paired.ts), the others
 * one after the other; each step repeated, then a saturation search per system, then 1, 2 and 3 of our
 * servers sharing one Mosquitto (scaleout.ts). See bench/README.md.
 */
import { abortFirmwareBench, benchFirmware, FIRMWARE_BENCH, type FirmwareResult } from "./firmware"
import { Fleet } from "./load"
import { HELP, parseArgs, type Options } from "./options"
import { REPORT_FILES, writeReports } from "./output"
import { benchPaired } from "./paired"
import type { PairedSection } from "./pairing"
import {
    printFirmware,
    printHeadline,
    printPaired,
    printSaturation,
    printScaleOut,
    printSteps,
    printTargets,
} from "./print"
import { checkTargets } from "./targets"
import { startAedesRelay, startLessonOnAedes, startNodeFloor, startRelay } from "./relay"
import { headline, saturationRatio, summarize, type BenchReport, type SaturationResult, type StepRuns } from "./report"
import { SATURATION_LIMITS, searchSaturation } from "./saturation"
import { benchScaleOut, scaleOutBudgetMs, type ScaleOutResult } from "./scaleout"
import { runStep, STEP, warmUp } from "./step"
import {
    findMosquitto,
    haveLessonStack,
    killAllChildren,
    runCommand,
    startLesson,
    startOurs,
    startOursOnMosquitto,
    SYSTEM_NAMES,
    type RunningSystem,
    type SystemName,
} from "./systems"
import { machine } from "./machine"

const START: Record<SystemName, () => Promise<RunningSystem>> = {
    ours: startOurs,
    lesson: startLesson,
    "lesson-aedes": startLessonOnAedes,
    "ours-mosquitto": startOursOnMosquitto,
    relay: startRelay,
    "aedes-relay": startAedesRelay,
    floor: startNodeFloor,
}

/** The systems that take turns in a paired run (those of them the run has), compared with the lesson. */
const PAIRED: readonly SystemName[] = ["ours", "lesson", "lesson-aedes", "floor"]

const log = (line: string) => console.error(`--- ${line}`)
let activeFleet: Fleet | undefined

async function benchSystem(
    name: SystemName,
    options: Options,
    runId: string
): Promise<{ steps: StepRuns[]; saturation: SaturationResult | null }> {
    log(`${name}: starting`)
    const system = await START[name]()
    const fleet = new Fleet(system.url, options.devices, `bench${runId}${name.replace("-", "")}`, system.confirmedBy)
    activeFleet = fleet
    try {
        const t0 = performance.now()
        await fleet.connect(n => log(`${name}: ${n} devices connected`))
        log(`${name}: ${options.devices} devices connected in ${Math.round(performance.now() - t0)} ms`)
        const answered = await warmUp(system, fleet)
        if (answered < options.devices)
            console.error(`!!! ${name}: only ${answered} of ${options.devices} devices were answered in the warm-up`)
        const steps: StepRuns[] = []
        for (const rate of options.rates) {
            const step: StepRuns = {
                system: name,
                devices: options.devices,
                offeredPerS: rate,
                handledBy: system.confirmedBy,
                runs: [],
            }
            for (let run = 1; run <= options.repeats; run++) {
                const figures = await runStep(system, fleet, rate, options.seconds)
                step.runs.push(figures)
                log(
                    `${name}: ${rate}/s, run ${run}/${options.repeats}: handled ${figures.handledPerS}/s, ` +
                        `${figures.cpuMicrosPerReading} µs/rd, p99 ${figures.latencyP99Ms} ms, ` +
                        `lost ${figures.readingsLost}, gen CPU ${figures.generatorCpuPercent}%, ` +
                        `gen stall ${figures.generatorStallMs} ms`
                )
            }
            steps.push(step)
        }
        const saturation = options.saturation
            ? await searchSaturation(system, fleet, options, l => log(`${name}: ${l}`))
            : null
        if (saturation) log(`${name}: saturation: ${saturation.stoppedBy}`)
        return { steps, saturation }
    } finally {
        await fleet.close()
        activeFleet = undefined
        await system.stop()
    }
}

/** The paired systems' steps (and saturation searches), as the sequential ones give theirs, and the pairs. */
async function benchPairedSystems(
    names: SystemName[],
    options: Options,
    runId: string
): Promise<{ steps: StepRuns[]; saturation: SaturationResult[]; section: PairedSection }> {
    const reference = names.includes("lesson") ? "lesson" : names[0]
    const outcome = await benchPaired(
        names.map(name => ({ name, start: START[name] })),
        reference,
        { ...options, saturationSearch: options.saturation ? options : undefined },
        `bench${runId}`,
        log
    )
    const steps: StepRuns[] = outcome.runs.map(r => ({
        system: r.name as SystemName,
        devices: options.devices,
        offeredPerS: r.offeredPerS,
        handledBy: r.handledBy,
        runs: r.runs,
    }))
    return {
        steps,
        saturation: outcome.saturation.map(s => s.result),
        section: { kind: "systems", labels: {}, fleets: outcome.fleets, steps: outcome.steps },
    }
}

async function main(): Promise<void> {
    let options: Options | undefined
    try {
        options = parseArgs(process.argv.slice(2))
    } catch (error) {
        console.error(`bench: ${(error as Error).message} (run with --help for usage)`)
        process.exitCode = 2
        return
    }
    if (!options) return void console.log(HELP)
    const started = performance.now()
    const lesson = haveLessonStack()
    if (options.firmware > 0 && !lesson.ok)
        console.error(`\n!!! WARNING: no lesson baseline for the firmware's reaction: ${lesson.why}.\n`)
    const needLessonStack: SystemName[] = ["lesson", "lesson-aedes", "relay"]
    if (options.systems.some(s => needLessonStack.includes(s)) && !lesson.ok) {
        console.error(`\n!!! WARNING: THE LESSON'S STACK CANNOT RUN: ${lesson.why}.\n!!! Running without it.\n`)
        options.systems = options.systems.filter(s => !needLessonStack.includes(s))
    }
    const budgetMs = budget(options)
    setTimeout(() => {
        console.error(`!!! bench: still running after ${Math.round(budgetMs / 1000)} s, giving up`)
        shutdown(1)
    }, budgetMs).unref()

    const runId = Math.random().toString(36).slice(2, 6)
    const steps: StepRuns[] = []
    const saturation: SaturationResult[] = []
    const pairedNames = options.paired ? options.systems.filter(s => PAIRED.includes(s)) : []
    const paired = pairedNames.length >= 2 ? await benchPairedSystems(pairedNames, options, runId) : undefined
    if (paired) {
        steps.push(...paired.steps)
        saturation.push(...paired.saturation)
    }
    for (const name of options.systems.filter(s => !paired || !pairedNames.includes(s))) {
        const result = await benchSystem(name, options, runId)
        steps.push(...result.steps)
        if (result.saturation) saturation.push(result.saturation)
    }
    // in the usual order of the systems, whichever way they ran
    const order = (name: SystemName) => SYSTEM_NAMES.indexOf(name)
    steps.sort((a, b) => order(a.system) - order(b.system))
    saturation.sort((a, b) => order(a.system) - order(b.system))
    let scaleOut: ScaleOutResult[] | undefined
    if (options.scaleOut && !findMosquitto())
        console.error("\n!!! WARNING: no scale-out section: Mosquitto is missing.\n")
    else if (options.scaleOut) scaleOut = await benchScaleOut({ repeats: options.scaleOutRepeats }, log)
    const firmware: FirmwareResult | null = options.firmware > 0 ? await benchFirmware(options.firmware, lesson) : null

    const results = summarize(steps)
    const compared = options.saturation ? saturationRatio(saturation) : { ratio: null, is: null }
    const onMosquitto = options.saturation ? saturationRatio(saturation, "ours-mosquitto") : { ratio: null, is: null }
    const report: BenchReport = {
        date: new Date().toISOString(),
        node: process.version,
        machine: machine(),
        durationS: Math.round((performance.now() - started) / 1000),
        options,
        results,
        headline: headline(results, paired?.section),
        saturation: options.saturation ? saturation : null,
        saturationRatio: compared.ratio,
        saturationRatioIs: compared.is,
        saturationRatioOnMosquitto: onMosquitto.ratio,
        saturationRatioOnMosquittoIs: onMosquitto.is,
        scaleOut,
        firmware,
        paired: paired?.section,
    }
    report.targets = checkTargets(report)
    printSteps(results)
    if (report.headline) printHeadline(report.headline)
    if (report.paired) printPaired(report.paired)
    if (report.saturation) printSaturation(report)
    if (scaleOut) printScaleOut(scaleOut)
    if (firmware) printFirmware(firmware)
    printTargets(report.targets)
    writeReports(report)
    console.log(`\nJSON: ${REPORT_FILES.json}\nHTML: ${REPORT_FILES.html}\n(${report.durationS} s in all)`)
}

/** The watchdog's bound (ms): whatever hangs, the run ends. */
function budget(options: Options): number {
    const perSystem =
        60_000 +
        (options.devices / 1000) * 3000 +
        options.rates.length * options.repeats * (options.seconds * 1000 + STEP.settleMs + 3000) +
        (options.saturation ? (SATURATION_LIMITS.maxTotalSeconds + 20) * 1000 : 0)
    const scaleOut = options.scaleOut ? scaleOutBudgetMs(options.scaleOutRepeats) : 0
    return options.systems.length * perSystem + scaleOut + firmwareBudgetMs(options.firmware)
}

/** Builds, two device start-ups and the toggles of both servers, each toggle at its bound plus pause (ms). */
function firmwareBudgetMs(toggles: number): number {
    if (toggles === 0) return 0
    const { toggleBoundMs, pauseMaxMs, firstChangeBoundMs } = FIRMWARE_BENCH
    return 60_000 + 2 * (60_000 + firstChangeBoundMs + 5_000 + toggles * (toggleBoundMs + pauseMaxMs))
}

let shuttingDown = false

function shutdown(code: number): void {
    if (shuttingDown) return
    shuttingDown = true
    activeFleet?.destroy()
    // the simulated device's processes first (bounded), then every other child
    void abortFirmwareBench().finally(() => {
        killAllChildren()
        process.exit(code)
    })
}

runCommand("bench", main, shutdown)
