/**
 * One run of a step: the fleet offers a fixed rate of readings to a running system for a few seconds,
 * while the system's CPU and memory (from /proc) and the load generator's own CPU are counted; then it
 * waits, bounded, for the answers still on their way, and counts what never came: readings unconfirmed,
 * crossings unanswered, LEDs left wrong. Also the warm-up before the first step.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"
import { ACK_MAX_INTERVAL_MS } from "../server/controller/ack-sender"
import { type Fleet, sleep } from "./load"
import type { StepRun } from "./report"
import { percentile, round } from "./stats"
import { cpuMicros, machineCpuMicros, rssMB, type RunningSystem } from "./systems"

export const STEP = {
    /** after a step, the most we wait for confirmations and commands still on their way (ms) */
    settleMs: ACK_MAX_INTERVAL_MS + 1000,
    /**
     * A step's reading counts as handled when it is confirmed at most this long after the step (ms): our
     * acks are cumulative, at most one per device every ACK_MAX_INTERVAL_MS (server/controller/ack-sender.ts),
     * so a device's last readings are confirmed up to that long after the step. The same for every system
     * confirmed by the fleet; none gets credit for readings from before the step.
     */
    confirmGraceMs: ACK_MAX_INTERVAL_MS + 200,
    /** the generator publishes what is due, then sleeps this long (ms) */
    tickMs: 2,
    /** readings at most per tick, so a late timer does not turn into one huge burst */
    maxBurst: 1000,
    /** peak RSS is sampled this often (ms) */
    rssEveryMs: 500,
    /** the warm-up's bound: every device's first reading answered (ms) */
    warmUpMs: 30_000,
    /** how often the settle loop looks again (ms) */
    pollMs: 20,
}

/**
 * The readings sent between `from` and `to` (Fleet.seqs()) that are confirmed within STEP.confirmGraceMs
 * from now; returns as soon as all are.
 */
export async function confirmedAfterGrace(fleet: Fleet, from: Int32Array, to: Int32Array): Promise<number> {
    let sent = 0
    for (let i = 0; i < to.length; i++) sent += to[i] - from[i]
    const until = performance.now() + STEP.confirmGraceMs
    let confirmed = fleet.confirmedBetween(from, to)
    while (confirmed < sent && performance.now() < until) {
        await sleep(STEP.pollMs)
        confirmed = fleet.confirmedBetween(from, to)
    }
    return confirmed
}

/** One reading from every device, answered (or relayed), before the steps; returns how many were. */
export async function warmUp(system: RunningSystem, fleet: Fleet): Promise<number> {
    const answered = await fleet.warmUp(STEP.warmUpMs)
    const subscriber = system.subscriber
    if (!subscriber) return answered
    const deadline = Date.now() + STEP.warmUpMs
    let relayed = await subscriber.count()
    while (relayed < fleet.sent() && Date.now() < deadline) {
        await sleep(50)
        relayed = await subscriber.count()
    }
    return Math.min(relayed, fleet.devices.length)
}

/**
 * Offers `rate` readings/s for `seconds`, round-robin over the devices (each sends rate/devices per
 * second); `tick` runs after each burst. Returns what was published and how long it took (s).
 */
export async function offerReadings(
    fleet: Fleet,
    rate: number,
    seconds: number,
    tick?: (now: number) => void
): Promise<{ published: number; elapsed: number }> {
    const start = performance.now()
    const end = start + seconds * 1000
    let published = 0
    for (let now = start; now < end; now = performance.now()) {
        const due = Math.floor(((now - start) / 1000) * rate)
        for (let burst = 0; published < due && burst < STEP.maxBurst; burst++, published++) fleet.publishNext()
        tick?.(now)
        await sleep(STEP.tickMs)
    }
    return { published, elapsed: (performance.now() - start) / 1000 }
}

export async function runStep(system: RunningSystem, fleet: Fleet, rate: number, seconds: number): Promise<StepRun> {
    const subscriber = system.subscriber
    const deficitsBefore = fleet.deficits()
    const sent0 = fleet.sent()
    const commands0 = fleet.commands
    fleet.startRecording()
    await subscriber?.startRecording()
    const pids = system.pids()
    const helpers = system.helperPids()
    const relayed0 = subscriber ? await subscriber.count() : 0
    const from = fleet.seqs()
    const cpu0 = cpuMicros(pids)
    const helperCpu0 = cpuMicros(helpers)
    const generator0 = process.cpuUsage()
    const machine0 = machineCpuMicros()
    let peakRss = rssMB(pids)
    let nextRss = performance.now() + STEP.rssEveryMs
    const loopDelay = monitorEventLoopDelay({ resolution: 1 })
    loopDelay.enable()

    const { elapsed } = await offerReadings(fleet, rate, seconds, now => {
        if (now < nextRss) return
        peakRss = Math.max(peakRss, rssMB(pids))
        nextRss = now + STEP.rssEveryMs
    })
    const cpu = cpuMicros(pids) - cpu0
    const helperCpu = cpuMicros(helpers) - helperCpu0
    const generator = process.cpuUsage(generator0)
    const machine = machineCpuMicros() - machine0
    const to = fleet.seqs()
    const relayed = subscriber ? (await subscriber.count()) - relayed0 : 0
    const commands = fleet.commands - commands0
    const sent = fleet.sent() - sent0
    peakRss = Math.max(peakRss, rssMB(pids))
    // the relays: delivered within the step; the others: the step's readings confirmed by the grace's end
    const handled = subscriber ? relayed : await confirmedAfterGrace(fleet, from, to)

    // let what is on its way arrive (CPU is counted in the step's window above)
    const unconfirmed = async () =>
        subscriber
            ? Math.max(0, sent - ((await subscriber.count()) - relayed0))
            : fleet.lostSince(deficitsBefore).readings
    for (const until = performance.now() + STEP.settleMs; performance.now() < until; await sleep(STEP.pollMs))
        if (fleet.pendingCount() === 0 && (await unconfirmed()) === 0) break
    const lost = subscriber ? { readings: await unconfirmed(), devices: null } : fleet.lostSince(deficitsBefore)
    const crossingsLost = fleet.pendingCount() + fleet.missed
    fleet.recording = false
    loopDelay.disable()
    const latencies = subscriber ? await subscriber.stopRecording() : fleet.latencies
    const sorted = [...latencies].sort((a, b) => a - b)
    const percentOfCore = (micros: number) => Math.round((micros / 1e6 / elapsed) * 100)
    const ms = (p: number) => (sorted.length === 0 ? null : round(percentile(sorted, p)!, 2))
    return {
        sentPerS: Math.round(sent / elapsed),
        handledPerS: Math.round(handled / elapsed),
        cpuMicrosPerReading: handled > 0 ? round(cpu / handled, 1) : null,
        cpuPercent: percentOfCore(cpu),
        generatorCpuPercent: percentOfCore(generator.user + generator.system),
        generatorStallMs: round(loopDelay.max / 1e6, 1),
        helperCpuPercent: helpers.length > 0 ? percentOfCore(helperCpu) : null,
        machineCpuPercent: percentOfCore(machine),
        otherCpuPercent: Math.max(0, percentOfCore(machine - cpu - helperCpu - generator.user - generator.system)),
        latencyP50Ms: ms(50),
        latencyP99Ms: ms(99),
        crossingsAnswered: subscriber ? null : fleet.latencies.length,
        crossingsLost: subscriber ? null : crossingsLost,
        readingsSent: sent,
        readingsLost: lost.readings,
        devicesShort: lost.devices,
        wrongLeds: subscriber ? null : fleet.wrongLeds(),
        rssMB: round(peakRss, 1),
        commandsPerReading: subscriber || sent === 0 ? null : round(commands / sent, 3),
        latencies,
    }
}
