/**
 * `npm run bench`: our server (embedded broker) against the lesson's stack (Mosquitto + the lesson's
 * Python server) under the same simulated fleet, on loopback. See bench/README.md.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { Fleet, sleep } from "./load"
import { abortFirmwareBench, benchFirmware, FIRMWARE_BENCH, type FirmwareResult } from "./firmware"
import { percentile, printFirmware, printTable, type StepResult } from "./report"
import {
    cpuMicros,
    haveLessonStack,
    killAllChildren,
    rssMB,
    startLesson,
    startOurs,
    type RunningSystem,
    type SystemName,
} from "./systems"

const HELP = `usage: npm run bench -- [options]
  --devices N        simulated devices, one MQTT connection each (default 500)
  --rates A,B,...    offered readings/s of the whole fleet, one step each (default 500,2000,5000)
  --seconds S        length of each step (default 10)
  --systems LIST     ours,lesson (default both)
  --firmware N       toggles of the real firmware's light → LED test, with ours and the lesson's
                     server (default 20; 0 skips it; needs DeviceScript devtools' ports 8081/8082 free)
  --quick            100 devices, rate 200, 3 s
  -h, --help`
const SETTLE_MS = 2000
const OUTPUT = "test-results/bench.json"

interface Options {
    devices: number
    rates: number[]
    seconds: number
    systems: SystemName[]
    /** light toggles of the real-firmware section; 0: skipped */
    firmware: number
}

function parseArgs(argv: string[]): Options | undefined {
    const options: Options = {
        devices: 500,
        rates: [500, 2000, 5000],
        seconds: 10,
        systems: ["ours", "lesson"],
        firmware: 20,
    }
    const positive = (flag: string, value: string | undefined): number => {
        const n = Number(value)
        if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got ${value}`)
        return n
    }
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]
        if (arg === "-h" || arg === "--help") return undefined
        else if (arg === "--quick") Object.assign(options, { devices: 100, rates: [200], seconds: 3 })
        else if (arg === "--devices") options.devices = Math.round(positive(arg, argv[++i]))
        else if (arg === "--firmware") {
            const n = Number(argv[++i])
            if (!Number.isInteger(n) || n < 0 || n > FIRMWARE_BENCH.maxToggles)
                throw new Error(
                    `--firmware needs a whole number of toggles, 0..${FIRMWARE_BENCH.maxToggles}, got ${argv[i]}`
                )
            options.firmware = n
        } else if (arg === "--seconds") options.seconds = positive(arg, argv[++i])
        else if (arg === "--rates") options.rates = (argv[++i] ?? "").split(",").map(r => positive(arg, r))
        else if (arg === "--systems") {
            options.systems = (argv[++i] ?? "").split(",") as SystemName[]
            for (const s of options.systems) if (s !== "ours" && s !== "lesson") throw new Error(`unknown system ${s}`)
        } else throw new Error(`unknown option ${arg}`)
    }
    return options
}

async function runStep(system: RunningSystem, fleet: Fleet, rate: number, seconds: number): Promise<StepResult> {
    const by = system.name === "ours" ? "acks" : "commands"
    fleet.clearPending()
    fleet.latencies = []
    fleet.missed = 0
    fleet.recording = true
    const pids = system.pids()
    const cpu0 = cpuMicros(pids)
    const confirmed0 = fleet.confirmed(by)
    const commands0 = fleet.commands
    let peakRss = rssMB(pids)
    let nextRss = performance.now() + 500
    const start = performance.now()
    const end = start + seconds * 1000
    let sent = 0
    let next = 0
    // a fixed total rate, spread round-robin over the devices: each sends rate/devices readings per second
    for (let now = start; now < end; now = performance.now()) {
        const target = Math.floor(((now - start) / 1000) * rate)
        for (let burst = 0; sent < target && burst < 1000; burst++, sent++)
            fleet.publish(fleet.devices[next++ % fleet.devices.length])
        if (now >= nextRss) {
            peakRss = Math.max(peakRss, rssMB(pids))
            nextRss = now + 500
        }
        await sleep(2)
    }
    const elapsed = (performance.now() - start) / 1000
    const cpu = cpuMicros(pids) - cpu0
    const confirmed = fleet.confirmed(by) - confirmed0
    const commands = fleet.commands - commands0
    peakRss = Math.max(peakRss, rssMB(pids))
    // let the last crossings be answered (latencies only; throughput and CPU are counted in the window)
    for (const until = Date.now() + SETTLE_MS; fleet.pendingCount() > 0 && Date.now() < until;) await sleep(20)
    const unanswered = fleet.pendingCount()
    fleet.recording = false
    const sorted = [...fleet.latencies].sort((a, b) => a - b)
    const round = (n: number | null, digits = 1) => (n === null ? null : Number(n.toFixed(digits)))
    return {
        system: system.name,
        offeredPerS: rate,
        sentPerS: Math.round(sent / elapsed),
        handledPerS: Math.round(confirmed / elapsed),
        handledBy: by,
        cpuMicrosPerReading: confirmed > 0 ? Math.round(cpu / confirmed) : null,
        cpuPercent: Math.round((cpu / 1e6 / elapsed) * 100),
        latencyP50Ms: round(percentile(sorted, 50), 2),
        latencyP99Ms: round(percentile(sorted, 99), 2),
        crossingsAnswered: sorted.length,
        crossingsUnanswered: unanswered + fleet.missed,
        rssMB: round(peakRss),
        commandsPerReading: sent > 0 ? Number((commands / sent).toFixed(3)) : null,
    }
}

let activeFleet: Fleet | undefined

async function benchSystem(name: SystemName, options: Options, runId: string): Promise<StepResult[]> {
    console.error(`--- ${name}: starting`)
    const system = name === "ours" ? await startOurs() : await startLesson()
    const fleet = new Fleet(system.url, options.devices, `bench${runId}${name}`)
    activeFleet = fleet
    try {
        const t0 = performance.now()
        await fleet.connect()
        console.error(`--- ${name}: ${options.devices} devices connected in ${Math.round(performance.now() - t0)} ms`)
        const answered = await fleet.warmUp()
        if (answered < options.devices)
            console.error(`!!! ${name}: only ${answered} of ${options.devices} devices got a first command`)
        const results: StepResult[] = []
        for (const rate of options.rates) {
            console.error(`--- ${name}: ${rate} readings/s for ${options.seconds} s`)
            results.push(await runStep(system, fleet, rate, options.seconds))
        }
        return results
    } finally {
        await fleet.close()
        activeFleet = undefined
        await system.stop()
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
    const lesson = haveLessonStack()
    if (options.firmware > 0 && !lesson.ok)
        console.error(`\n!!! WARNING: no lesson baseline for the firmware's reaction: ${lesson.why}.\n`)
    if (options.systems.includes("lesson") && !lesson.ok) {
        console.error(
            `\n!!! WARNING: THE LESSON'S STACK CANNOT RUN: ${lesson.why}.\n!!! Running ours only: no comparison.\n`
        )
        options.systems = options.systems.filter(s => s !== "lesson")
    }
    // a watchdog: whatever hangs, the run ends
    const budgetMs =
        options.systems.length * (60_000 + options.rates.length * (options.seconds * 1000 + 5000)) +
        firmwareBudgetMs(options.firmware)
    setTimeout(() => {
        console.error(`!!! bench: still running after ${budgetMs} ms, giving up`)
        shutdown(1)
    }, budgetMs).unref()

    const runId = Math.random().toString(36).slice(2, 6)
    const results: StepResult[] = []
    for (const name of options.systems) results.push(...(await benchSystem(name, options, runId)))
    const firmware: FirmwareResult | null = options.firmware > 0 ? await benchFirmware(options.firmware, lesson) : null
    const rows = printTable(results)
    if (firmware) printFirmware(firmware)
    mkdirSync("test-results", { recursive: true })
    const report = { date: new Date().toISOString(), node: process.version, options, results: rows, firmware }
    writeFileSync(OUTPUT, JSON.stringify(report, null, 4) + "\n")
    console.log(`\nJSON: ${OUTPUT}`)
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

process.once("SIGINT", () => shutdown(130))
process.once("SIGTERM", () => shutdown(143))
main().then(
    () => {
        killAllChildren()
        process.exit(process.exitCode ?? 0)
    },
    error => {
        console.error("bench failed:", error)
        shutdown(1)
    }
)
