/**
 * The real firmware in the bench (`--firmware N`): how fast a light change reaches the LED when the
 * firmware runs in the DeviceScript VM, with our server (in this process, embedded broker) and, as the
 * same-run baseline, with the lesson's server logic behind Mosquitto; and the firmware's footprint
 * (bytecode size per board, and the `devs build --stats` breakdown). The target: our p99 ≤ 300 ms.
 *
 * One simulated device at a time: DeviceScript devtools binds the fixed ports 8081/8082.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startServer, type RunningServer } from "../server/app"
import { createLogger } from "../server/util/logger"
import { SimulatedNightlight } from "../sim/device"
import { buildFirmware, bytecodePath, FIRMWARE_TARGETS, firmwareIsStale } from "../sim/firmware"
import { percentile } from "./report"
import { HOST, startLesson, type RunningSystem } from "./systems"

export const FIRMWARE_BENCH = {
    /** a toggle the LED does not follow within this is a miss (ms) */
    toggleBoundMs: 5000,
    /** the first LED change after start-up: the VM boots and connects (ms) */
    firstChangeBoundMs: 30_000,
    /** a random pause after each toggle, so the toggles do not fall into the device's 2 s report rhythm (ms) */
    pauseMinMs: 300,
    pauseMaxMs: 800,
    /** far from the threshold (300) and its band (300..400): the lesson's logic has no hysteresis */
    darkLight: 100,
    brightLight: 900,
    /** most toggles a run may ask for, so the section stays bounded in time */
    maxToggles: 1000,
    /** how long Ctrl-C waits for the simulated device to stop before its processes are killed (ms) */
    stopBoundMs: 5000,
}

const DEVICE_ID = "bench-firmware"

export interface ReactionResult {
    system: "ours" | "lesson"
    toggles: number
    /** toggles the LED followed within toggleBoundMs */
    answered: number
    misses: number
    p50Ms: number | null
    p90Ms: number | null
    p99Ms: number | null
    maxMs: number | null
    /** every light change → LED change, in order (ms) */
    samplesMs: number[]
}

export interface FootprintRow {
    board: string
    /** size of built/<board>/bytecode.devs */
    bytecodeBytes: number
    /** rebuilt in this run because a firmware source was newer than the build */
    rebuilt: boolean
    /** from built/<board>/bytecode-sizes.md, which `devs build --stats` writes (bytes, functions) */
    stats?: {
        headerBytes: number
        stringsBytes: number
        floatsBytes: number
        dataBytes: number
        functions: number
        functionBytes: number
        totalBytes: number
    }
}

export interface FirmwareResult {
    reaction: ReactionResult[]
    /** ours / lesson (below 1: ours reacts faster) */
    p50Ratio: number | null
    p99Ratio: number | null
    /** why the lesson's baseline did not run, if it did not */
    lessonSkipped?: string
    footprint: FootprintRow[]
}

/** What is running now, so Ctrl-C can stop it. */
const active: { device?: SimulatedNightlight; server?: RunningServer; lesson?: RunningSystem; dataDir?: string } = {}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))
const round = (n: number | null) => (n === null ? null : Number(n.toFixed(1)))
const logger = createLogger({ level: "warn", destination: process.stderr })

export async function benchFirmware(toggles: number, lesson: { ok: boolean; why?: string }): Promise<FirmwareResult> {
    const footprint = await measureFootprint()
    const reaction = [await reactionWithOurs(toggles)]
    if (lesson.ok) reaction.push(await reactionWithLesson(toggles))
    const [ours, theirs] = reaction
    const ratio = (a: number | null | undefined, b: number | null | undefined) =>
        a == null || b == null || b === 0 ? null : Number((a / b).toFixed(2))
    return {
        reaction,
        p50Ratio: ratio(ours.p50Ms, theirs?.p50Ms),
        p99Ratio: ratio(ours.p99Ms, theirs?.p99Ms),
        ...(lesson.ok ? {} : { lessonSkipped: lesson.why }),
        footprint,
    }
}

async function reactionWithOurs(toggles: number): Promise<ReactionResult> {
    console.error(`--- firmware: our server (embedded broker), ${toggles} toggles`)
    active.dataDir = mkdtempSync(join(tmpdir(), "nightlight-bench-fw-"))
    try {
        // the default system's path: history written before each ack; no dashboard
        active.server = await startServer(
            { broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300, dataDir: active.dataDir },
            logger
        )
        return await reactionWith("ours", active.server.brokerUrl, toggles)
    } finally {
        await active.server?.stop()
        active.server = undefined
        rmSync(active.dataDir, { recursive: true, force: true })
        active.dataDir = undefined
    }
}

async function reactionWithLesson(toggles: number): Promise<ReactionResult> {
    console.error(`--- firmware: the lesson's server logic (Mosquitto + Python), ${toggles} toggles`)
    try {
        active.lesson = await startLesson()
        return await reactionWith("lesson", active.lesson.url, toggles)
    } finally {
        await active.lesson?.stop()
        active.lesson = undefined
    }
}

async function reactionWith(system: "ours" | "lesson", brokerUrl: string, toggles: number): Promise<ReactionResult> {
    const { darkLight, brightLight, toggleBoundMs, firstChangeBoundMs } = FIRMWARE_BENCH
    const device = new SimulatedNightlight({ brokerUrl, deviceId: DEVICE_ID, light: brightLight, logger })
    active.device = device
    try {
        await device.start()
        // not counted: the VM boots and connects; one round trip each way proves the loop works
        for (const on of [true, false]) {
            const change = ledChange(device, on, firstChangeBoundMs)
            device.setLight(on ? darkLight : brightLight)
            if ((await change) === null)
                throw new Error(
                    `${system}: the simulated LED did not turn ${on ? "on" : "off"} within ${firstChangeBoundMs} ms of start-up`
                )
            await pause()
        }
        const samples: number[] = []
        let misses = 0
        for (let i = 0; i < toggles; i++) {
            const on = !device.ledOn
            const change = ledChange(device, on, toggleBoundMs)
            device.setLight(on ? darkLight : brightLight)
            const ms = await change
            if (ms === null) {
                misses++
                // back to the light the LED shows, so the next toggle is a real change again
                device.setLight(device.ledOn ? darkLight : brightLight)
            } else samples.push(Number(ms.toFixed(1)))
            await pause()
        }
        const sorted = [...samples].sort((a, b) => a - b)
        return {
            system,
            toggles,
            answered: samples.length,
            misses,
            p50Ms: round(percentile(sorted, 50)),
            p90Ms: round(percentile(sorted, 90)),
            p99Ms: round(percentile(sorted, 99)),
            maxMs: sorted.length ? sorted[sorted.length - 1] : null,
            samplesMs: samples,
        }
    } finally {
        await device.stop()
        active.device = undefined
    }
}

/** The ms from now until the simulated LED is `on`, or null after `boundMs`; listens before the light changes. */
function ledChange(device: SimulatedNightlight, on: boolean, boundMs: number): Promise<number | null> {
    const started = performance.now()
    return new Promise(resolve => {
        const done = (ms: number | null) => {
            clearTimeout(timer)
            device.off("led", listener)
            resolve(ms)
        }
        const listener = (state: boolean) => state === on && done(performance.now() - started)
        const timer = setTimeout(() => done(null), boundMs)
        device.on("led", listener)
    })
}

function pause(): Promise<void> {
    const { pauseMinMs, pauseMaxMs } = FIRMWARE_BENCH
    return sleep(pauseMinMs + Math.random() * (pauseMaxMs - pauseMinMs))
}

/** Each board's bytecode size and `--stats` breakdown; a build older than its sources is rebuilt first. */
export async function measureFootprint(): Promise<FootprintRow[]> {
    const rows: FootprintRow[] = []
    for (const target of FIRMWARE_TARGETS) {
        const rebuilt = firmwareIsStale(target)
        if (rebuilt) await buildFirmware(target)
        const sizes = join(bytecodePath(target), "..", "bytecode-sizes.md")
        rows.push({
            board: target.board,
            bytecodeBytes: statSync(bytecodePath(target)).size,
            rebuilt,
            ...(existsSync(sizes) ? { stats: parseSizes(readFileSync(sizes, "utf8")) } : {}),
        })
    }
    return rows
}

/** Reads the tables of bytecode-sizes.md: "4168 | strings", "  20 | `noop` |", "13832 | Function TOTAL |". */
export function parseSizes(markdown: string): NonNullable<FootprintRow["stats"]> {
    const named = new Map<string, number>()
    let functions = 0
    for (const line of markdown.split("\n")) {
        const match = /^\s*(\d+)\s*\|\s*([^|]+?)\s*(\||$)/.exec(line)
        if (!match) continue
        if (match[2].startsWith("`")) functions++
        else named.set(match[2], Number(match[1]))
    }
    return {
        headerBytes: named.get("header") ?? 0,
        stringsBytes: named.get("strings") ?? 0,
        floatsBytes: named.get("floats") ?? 0,
        dataBytes: named.get("Data TOTAL") ?? 0,
        functions,
        functionBytes: named.get("Function TOTAL") ?? 0,
        totalBytes: named.get("TOTAL") ?? 0,
    }
}

/** Ctrl-C or the watchdog: stops the device, server and lesson stack, bounded; then kills what is left. */
export async function abortFirmwareBench(): Promise<void> {
    const stopping = Promise.allSettled([active.device?.stop(), active.server?.stop(), active.lesson?.stop()])
    await Promise.race([stopping, sleep(FIRMWARE_BENCH.stopBoundMs)])
    if (active.dataDir) rmSync(active.dataDir, { recursive: true, force: true })
    if (active.device) killOwnChildren()
}

/** SIGKILLs this process's direct children by pid (the devtools and VM the device started). */
function killOwnChildren(): void {
    let pids: string[] = []
    try {
        pids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").trim().split(/\s+/)
    } catch {
        return // not Linux: the device's own stop had to do
    }
    for (const pid of pids.filter(Boolean))
        try {
            process.kill(Number(pid), "SIGKILL")
        } catch {
            // already gone
        }
}
