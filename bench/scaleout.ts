/**
 * Scale-out bench (docs/scale-out.md): 1, 2 and 3 of our servers sharing one Mosquitto with
 * --mqtt-share-group, under the same fleet. For each count it raises the offered rate until the servers
 * fall behind, narrows the ceiling down as the saturation search does (saturation-plan.ts), and reports
 * the readings handled per second (by acks), the CPU per reading of the servers and of Mosquitto, and the
 * load generator's own CPU, each as min/median/max over the repeats.
 *
 * Everything runs on this machine and on loopback: the servers, the broker and the generator share the
 * same cores, so this measures what sharing costs more than what a second machine would bring.
 */
import type { ChildProcess } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { pathToFileURL } from "node:url"
import { Fleet, sleep } from "./load"
import type { ScaleOutRow } from "./report"
import { printScaleOut } from "./print"
import { SATURATION_LIMITS } from "./saturation"
import { SaturationPlan } from "./saturation-plan"
import { costCurve, sharingCost } from "./sharing-cost"
import { ratio, spread, type Spread } from "./stats"
import { confirmedAfterGrace, offerReadings } from "./step"
import {
    cpuMicros,
    findMosquitto,
    HOST,
    killAllChildren,
    rssMB,
    spawnOurServer,
    startMosquitto,
    subscriptionLogged,
} from "./systems"

export const SCALE_OUT = {
    instances: [1, 2, 3],
    devices: 2000,
    /** readings/s of the first step; each next step offers `growth` times more */
    startRate: 2000,
    growth: 1.5,
    maxSteps: 10, // 2000 × 1.5^9 ≈ 77,000/s
    refineSteps: 2, // then midpoints below the rate that failed twice (saturation-plan.ts)
    stepSeconds: 3,
    /** a step whose handled/s is below this share of the offered rate is past saturation */
    keepUp: 0.9,
    group: "bench",
}

/** One repeat of one server count: the best sustained step, and every step. */
interface ScaleOutRun {
    handledPerS: number
    /** false: no rate failed twice because of the servers (the generator's limit came first), so handledPerS is a lower bound */
    ceilingFound: boolean
    cpuMicrosPerReading: number
    steps: {
        offeredPerS: number
        /** what the generator managed to publish: below the offered rate, the generator was the limit */
        sentPerS: number
        handledPerS: number
        serversCpuPercent: number[]
        brokerCpuPercent: number
        generatorCpuPercent: number
        serversRssMB: number[]
    }[]
}

export interface ScaleOutResult extends ScaleOutRow {
    /** handled/s (median) against one server's (median) */
    ratioToOne: number | null
    runs: ScaleOutRun[]
}

interface Stack {
    url: string
    servers: ChildProcess[]
    broker: ChildProcess
    stop: () => Promise<void>
}

/** Mosquitto logging subscriptions (how we know every server is in the group), then `n` servers. */
async function startStack(n: number): Promise<Stack> {
    const mosquitto = await startMosquitto("log_dest stderr\nlog_type error\nlog_type subscribe\n")
    const broker = mosquitto.child
    const subscribed = subscriptionLogged(broker, `$share/${SCALE_OUT.group}/+/telemetry`, n)
    const url = `mqtt://${HOST}:${mosquitto.port}`
    const brokerArgs = ["--mqtt-url", url, "--mqtt-share-group", SCALE_OUT.group, "--no-dashboard"]
    const servers = Array.from({ length: n }, (_, i) => spawnOurServer(brokerArgs, `server ${i + 1}`))
    await subscribed
    return {
        url,
        servers: servers.map(s => s.child),
        broker,
        stop: async () => {
            await Promise.all(servers.map(s => s.stop()))
            await mosquitto.stop()
        },
    }
}

async function runOnce(n: number, devices: number, log: (line: string) => void): Promise<ScaleOutRun> {
    const stack = await startStack(n)
    const fleet = new Fleet(stack.url, devices, `so${n}-${Math.random().toString(36).slice(2, 6)}`, "acks")
    try {
        await fleet.connect()
        const answered = await fleet.warmUp()
        if (answered < devices) log(`scale-out ${n}: !!! only ${answered} of ${devices} devices got a first command`)
        const run: ScaleOutRun = { handledPerS: 0, ceilingFound: false, cpuMicrosPerReading: 0, steps: [] }
        const plan = new SaturationPlan({
            start: SCALE_OUT.startRate,
            factor: SCALE_OUT.growth,
            climbSteps: SCALE_OUT.maxSteps,
            refineSteps: SCALE_OUT.refineSteps,
        })
        for (let rate = plan.next; rate !== null; rate = plan.next) {
            const result = await offer(stack, fleet, rate)
            run.steps.push(result.step)
            log(
                `scale-out ${n} server(s): offered ${rate}/s, sent ${result.step.sentPerS}/s, handled ${result.step.handledPerS}/s, ` +
                    `servers ${result.step.serversCpuPercent.join("+")}% broker ${result.step.brokerCpuPercent}% ` +
                    `generator ${result.step.generatorCpuPercent}%`
            )
            const keptUp = result.step.handledPerS >= rate * SCALE_OUT.keepUp
            const generatorBehind = result.step.sentPerS < rate * SATURATION_LIMITS.minSentRatio
            plan.record(keptUp ? null : `handled ${result.step.handledPerS}/s`, generatorBehind)
            if (keptUp && result.step.handledPerS > run.handledPerS) {
                run.handledPerS = result.step.handledPerS
                run.cpuMicrosPerReading = result.cpuMicrosPerReading
            }
            // the backlog of a step must not count in the next one (bounded)
            const until = Date.now() + 10_000
            for (let last = -1; fleet.outstanding() !== last && Date.now() < until; await sleep(300))
                last = fleet.outstanding()
        }
        run.ceilingFound = plan.ceilingFound
        return run
    } finally {
        await fleet.close()
        await stack.stop()
    }
}

/** One step: `rate` readings/s for SCALE_OUT.stepSeconds, spread round-robin over the fleet. */
async function offer(stack: Stack, fleet: Fleet, rate: number) {
    const serverPids = stack.servers.map(s => s.pid!)
    const cpu0 = serverPids.map(pid => cpuMicros([pid]))
    const broker0 = cpuMicros([stack.broker.pid!])
    const own0 = process.cpuUsage()
    const from = fleet.seqs()
    const { published: sent, elapsed: seconds } = await offerReadings(fleet, rate, SCALE_OUT.stepSeconds)
    const serversCpu = serverPids.map((pid, i) => cpuMicros([pid]) - cpu0[i])
    const brokerCpu = cpuMicros([stack.broker.pid!]) - broker0
    const own = process.cpuUsage(own0)
    const confirmed = await confirmedAfterGrace(fleet, from, fleet.seqs())
    const percent = (micros: number) => Math.round((micros / 1e6 / seconds) * 100)
    const total = serversCpu.reduce((a, b) => a + b, 0) + brokerCpu
    return {
        cpuMicrosPerReading: confirmed > 0 ? Math.round(total / confirmed) : 0,
        step: {
            offeredPerS: rate,
            sentPerS: Math.round(sent / seconds),
            handledPerS: Math.round(confirmed / seconds),
            serversCpuPercent: serversCpu.map(percent),
            brokerCpuPercent: percent(brokerCpu),
            generatorCpuPercent: percent(own.user + own.system),
            serversRssMB: serverPids.map(pid => Math.round(rssMB([pid]))),
        },
    }
}

/** The watchdog's share for this section (ms): every step bounded, each tried twice at most. */
export function scaleOutBudgetMs(repeats: number): number {
    const perStep = SCALE_OUT.stepSeconds * 1000 + 10_000
    // every rate may be run twice (a failure is tried again), the climb's and the midpoints'
    return SCALE_OUT.instances.length * repeats * (90_000 + 2 * (SCALE_OUT.maxSteps + SCALE_OUT.refineSteps) * perStep)
}

const ZERO: Spread = { min: 0, median: 0, max: 0 }

/** The whole scale-out section: each server count `repeats` times. */
export async function benchScaleOut(
    options: { repeats: number; devices?: number },
    log: (line: string) => void = line => console.error(`--- ${line}`)
): Promise<ScaleOutResult[]> {
    if (!findMosquitto()) throw new Error("the scale-out bench needs Mosquitto (apt-get install -y mosquitto)")
    const results: ScaleOutResult[] = []
    for (const n of SCALE_OUT.instances) {
        const runs: ScaleOutRun[] = []
        for (let r = 0; r < options.repeats; r++) runs.push(await runOnce(n, options.devices ?? SCALE_OUT.devices, log))
        results.push({
            instances: n,
            handledPerS:
                spread(
                    runs.map(r => r.handledPerS),
                    0
                ) ?? ZERO,
            cpuMicrosPerReading:
                spread(
                    runs.map(r => r.cpuMicrosPerReading),
                    0
                ) ?? ZERO,
            ratioToOne: null,
            costCurve: costCurve(
                n,
                runs.flatMap(run => run.steps),
                SCALE_OUT.keepUp
            ),
            runs,
        })
    }
    const one = results.find(r => r.instances === 1)
    for (const r of results) {
        r.ratioToOne = ratio(r.handledPerS.median, one?.handledPerS.median)
        const cost = one && r !== one ? sharingCost(one.costCurve!, r.costCurve!) : null
        r.sharingCost = cost === null ? null : Math.round(cost * 100) / 100
    }
    return results
}

/** `npm run bench:scale-out [-- --repeats N --devices N]`: the section alone, printed and written as JSON. */
async function main(): Promise<void> {
    const args = process.argv.slice(2)
    const value = (flag: string, fallback: number) => {
        const i = args.indexOf(flag)
        if (i < 0) return fallback
        const n = Number(args[i + 1])
        if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a whole number from 1, got ${args[i + 1]}`)
        return n
    }
    const results = await benchScaleOut({
        repeats: value("--repeats", 2),
        devices: value("--devices", SCALE_OUT.devices),
    })
    printScaleOut(results)
    mkdirSync("test-results", { recursive: true })
    writeFileSync(
        "test-results/bench-scaleout.json",
        JSON.stringify({ date: new Date().toISOString(), results }, null, 4) + "\n"
    )
    console.log("JSON: test-results/bench-scaleout.json")
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
    const watchdog = setTimeout(() => {
        console.error("!!! scale-out bench: still running after 15 minutes, giving up")
        killAllChildren()
        process.exit(1)
    }, 15 * 60_000)
    watchdog.unref()
    process.once("SIGINT", () => (killAllChildren(), process.exit(130)))
    main().then(
        () => (killAllChildren(), process.exit(0)),
        error => {
            console.error("scale-out bench failed:", error)
            killAllChildren()
            process.exit(1)
        }
    )
}
