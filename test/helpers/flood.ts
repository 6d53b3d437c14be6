/**
 * The hostile flood against a running server, for test/whole-server/fuzz.test.ts and fuzz-long.ts:
 * hostile mqtt.js clients (hostile.ts), raw TCP connections (raw-mqtt.ts) and one well-behaved device,
 * all at once. Returns what was sent and counted, crashes, leaks, and the device's losses and latencies
 * (pessimistic: the flood runs on the server's event loop).
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import type { MqttClient } from "mqtt"
import type { RunningServer } from "../../server/app"
import { REJECTION_REASONS, type RejectionReason, type ServerStats } from "../../server/controller/events"
import type { DeviceSnapshot } from "../../server/device/types"
import type { CommandPayload } from "../../server/protocol/contract"
import { hostileMessages, seededRandom, type Expected } from "./hostile"
import { Inbox, closeClient, connectClient, until } from "./mqtt"
import { RAW_SCENARIOS, sendRaw, type RawOutcome } from "./raw-mqtt"

export interface FloodOptions {
    server: RunningServer
    /** The server's recorded log lines (recordingLogger), to count rejection lines and errors. */
    lines: string[]
    seed: number
    hostileClients: number
    /** Messages per hostile client. */
    perClient: number
    /** Times every raw scenario is played. */
    rawRounds: number
    /** The well-behaved device's readings before and after the flood (during: as long as it lasts). */
    readingsBefore?: number
    readingsAfter?: number
}

/** Messages per client per step, and the pause between steps: spreads the flood over seconds. */
const CHUNK = 10
const CHUNK_GAP_MS = 40
const RAW_CONCURRENCY = 4
/** How long a raw connection may stay open (ms): a violation the broker must see gets longer. */
const RAW_WAIT_MS = { mustClose: 2000, other: 300 }
/** A command slower than this counts as lost (ms). */
const COMMAND_TIMEOUT_MS = 3000
export const GOOD_ID = "good"
const GOOD_GAP_MS = 20

export type Tally = Record<Expected, number>
export type Phase = "before" | "during" | "after"

export interface FloodResult {
    seed: number
    payloads: number
    rawPackets: number
    rawConnections: number
    floodSeconds: number
    /** What was sent, by what the server must do with it. */
    sent: Tally
    /** What the server counted, by reason, during the run. */
    counted: Record<RejectionReason, number>
    /** Telemetry messages the controller saw during the run, and how many it should have. */
    received: { actual: number; expected: number }
    raw: Map<string, Record<RawOutcome, number>>
    brokerClientErrors: number
    /** Uncaught exceptions and unhandled rejections, and ERROR/FATAL log lines. */
    crashes: string[]
    errorLines: string[]
    leaks: { clients: number; sockets: number; otherDevices: string[]; heapMb: number }
    rejectionLines: number
    valid: { sent: number; lost: string[]; latencies: Record<Phase, number[]> }
    device: DeviceSnapshot | undefined
    commandsFailed: number
}

let gc: (() => void) | undefined
function heapMb(): number {
    if (!gc) {
        setFlagsFromString("--expose-gc")
        gc = runInNewContext("gc") as () => void
    }
    gc()
    gc()
    return process.memoryUsage().heapUsed / 1e6
}

const tcpSockets = () => process.getActiveResourcesInfo().filter(r => r === "TCPSocketWrap").length
const zeroTally = (): Tally => ({ ...Object.fromEntries(REJECTION_REASONS.map(r => [r, 0])), unrouted: 0 }) as Tally
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/**
 * The well-behaved device: our firmware's telemetry (seq, boot, t, led, oldest), light alternating dark
 * and bright so every reading must bring a command; it waits for each command before the next reading.
 */
class GoodDevice {
    seq = 0
    led = false
    lastAck = 0
    lastCommandSeq = 0
    readonly latencies: Record<Phase, number[]> = { before: [], during: [], after: [] }
    /** Readings whose command did not come in time, or came wrong. */
    readonly lost: string[] = []
    private readonly started = performance.now()

    private constructor(
        readonly client: MqttClient,
        private readonly commands: Inbox
    ) {
        client.on("message", (topic, payload) => {
            if (topic !== `${GOOD_ID}/acks`) return
            const ack = JSON.parse(payload.toString()) as { boot: string; seq: number }
            if (ack.boot === "good1") this.lastAck = Math.max(this.lastAck, ack.seq)
        })
    }

    static async connect(url: string): Promise<GoodDevice> {
        const client = await connectClient(url, { clientId: `${GOOD_ID}nightlight_client` })
        // mqtt.js writes a packet in pieces, which Nagle's algorithm holds back ~20 ms on loopback; our
        // firmware writes each packet at once. (bench/load.ts does the same.)
        ;(client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
        const commands = await Inbox.open(client, `${GOOD_ID}/commands`)
        await client.subscribeAsync(`${GOOD_ID}/commands`, { qos: 1 })
        await client.subscribeAsync(`${GOOD_ID}/acks`, { qos: 0 })
        return new GoodDevice(client, commands)
    }

    /** One reading and its command. */
    async reading(phase: Phase): Promise<void> {
        const seq = ++this.seq
        const light = seq % 2 === 1 ? 10 : 900
        const payload = {
            light,
            seq,
            boot: "good1",
            t: Math.round(performance.now() - this.started),
            led: this.led,
            local: false,
            oldest: Math.min(this.lastAck + 1, seq),
            dropped: 0,
        }
        const sentAt = performance.now()
        this.client.publish(`${GOOD_ID}/telemetry`, JSON.stringify(payload))
        try {
            const message = await this.commands.next(COMMAND_TIMEOUT_MS)
            const command = JSON.parse(message.payload) as CommandPayload
            if (command.led_on !== light < 300 || !(command.seq! > this.lastCommandSeq))
                this.lost.push(`${phase} seq ${seq}: wrong command ${message.payload}`)
            this.lastCommandSeq = command.seq!
            this.led = command.led_on
            this.latencies[phase].push(performance.now() - sentAt)
        } catch {
            this.lost.push(`${phase} seq ${seq}: no command within ${COMMAND_TIMEOUT_MS} ms`)
        }
    }

    async readings(phase: Phase, more: () => boolean): Promise<void> {
        while (more()) {
            await this.reading(phase)
            await sleep(GOOD_GAP_MS)
        }
    }
}

/** One hostile mqtt.js client; resolves once all is written (QoS 1/2: acknowledged). */
async function hostileClient(o: FloodOptions, index: number, tally: Tally): Promise<void> {
    const client = await connectClient(o.server.brokerUrl, { clientId: `hostile-${o.seed}-${index}` })
    const next = hostileMessages(o.seed + index, { ids: [GOOD_ID, `fuzz-${index}`, "fuzz-shared"] })
    const sent: Promise<unknown>[] = []
    let last = "nothing"
    // mqtt.js holds the publishes of a closed client forever: fail at once, naming the last message
    const closed = new Promise<never>((_, reject) =>
        client.once("close", () => reject(new Error(`the broker closed hostile-${index} after ${last}`)))
    )
    closed.catch(() => undefined)
    try {
        for (let n = 0; n < o.perClient;) {
            for (let k = 0; k < CHUNK && n < o.perClient; k++, n++) {
                const m = next()
                last = `${m.kind} to ${JSON.stringify(m.topic)}`
                tally[m.expect]++
                sent.push(client.publishAsync(m.topic, m.payload, { qos: m.qos, retain: m.retain }))
            }
            await sleep(CHUNK_GAP_MS)
        }
        await Promise.race([Promise.all(sent), closed])
    } finally {
        await closeClient(client)
    }
}

/** Every raw scenario `rawRounds` times, a few connections at a time; resolves with the packets sent. */
async function rawClients(o: FloodOptions, outcomes: FloodResult["raw"]): Promise<number> {
    const port = o.server.broker!.port
    const r = seededRandom(o.seed ^ 0x5eed)
    const jobs = Array.from({ length: o.rawRounds }, () => [...RAW_SCENARIOS]).flat()
    let packets = 0
    let connections = 0
    const worker = async () => {
        for (let s = jobs.shift(); s; s = jobs.shift()) {
            const wait = s.mustClose ? RAW_WAIT_MS.mustClose : RAW_WAIT_MS.other
            const outcome = await sendRaw(port, s.bytes(r, `raw-${o.seed}-${connections++}`), wait)
            const tally = outcomes.get(s.name) ?? { "closed by the broker": 0, "left open": 0 }
            tally[outcome]++
            outcomes.set(s.name, tally)
            packets += s.packets
        }
    }
    await Promise.all(Array.from({ length: RAW_CONCURRENCY }, worker))
    return packets
}

/** Runs the whole flood against `o.server` (embedded broker) and reports; asserts nothing itself. */
export async function runFlood(o: FloodOptions): Promise<FloodResult> {
    const { server } = o
    const broker = server.broker
    if (!broker) throw new Error("runFlood needs the embedded broker (raw connections and client counts)")
    const crashes: string[] = []
    const onCrash = (err: unknown) => crashes.push(String(err))
    process.on("uncaughtException", onCrash)
    process.on("unhandledRejection", onCrash)
    let brokerClientErrors = 0
    const onClientError = () => brokerClientErrors++
    broker.aedes.on("clientError", onClientError)
    broker.aedes.on("connectionError", onClientError)

    const good = await GoodDevice.connect(server.brokerUrl)
    try {
        let before = o.readingsBefore ?? 30
        await good.readings("before", () => before-- > 0)
        const base = {
            stats: server.controller.stats(),
            clients: broker.aedes.connectedClients,
            sockets: tcpSockets(),
            heap: heapMb(),
            readings: good.seq,
            lines: o.lines.length,
        }

        const sent = zeroTally()
        const raw: FloodResult["raw"] = new Map()
        let flooding = true
        const started = performance.now()
        const flood = Promise.all([
            Promise.all(Array.from({ length: o.hostileClients }, (_, i) => hostileClient(o, i, sent))),
            rawClients(o, raw),
        ]).finally(() => (flooding = false))
        await good.readings("during", () => flooding)
        const [, rawPackets] = await flood
        const floodSeconds = (performance.now() - started) / 1000

        // Every routed message and every good reading reaches the controller (bounded wait).
        const routed = REJECTION_REASONS.reduce((sum, reason) => sum + sent[reason], 0)
        const expectedReceived = routed + (good.seq - base.readings)
        const received = () => server.controller.stats().received - base.stats.received
        await until("every routed message to be handled", () => received() >= expectedReceived, 30_000).catch(
            () => undefined // reported as a count that does not match
        )

        let after = o.readingsAfter ?? 20
        await good.readings("after", () => after-- > 0)
        await until("the ack of the last reading", () => good.lastAck === good.seq, 5000).catch(() =>
            good.lost.push(`the last ack named ${good.lastAck}, not ${good.seq}`)
        )
        const stats = server.controller.stats()
        const settled = (what: string, condition: () => boolean) => until(what, condition, 5000).catch(() => undefined)
        await settled("hostile connections to go", () => broker.aedes.connectedClients <= base.clients)
        await settled("raw sockets to close", () => tcpSockets() <= base.sockets)

        return {
            seed: o.seed,
            payloads: o.hostileClients * o.perClient,
            rawPackets,
            rawConnections: o.rawRounds * RAW_SCENARIOS.length,
            floodSeconds,
            sent,
            counted: countedSince(stats, base.stats),
            received: { actual: stats.received - base.stats.received, expected: routed + good.seq - base.readings },
            raw,
            brokerClientErrors,
            crashes,
            errorLines: o.lines.filter(l => / (ERROR|FATAL): /.test(l)),
            leaks: {
                clients: broker.aedes.connectedClients - base.clients,
                sockets: Math.max(0, tcpSockets() - base.sockets),
                otherDevices: server.controller.deviceIds().filter(id => id !== GOOD_ID),
                heapMb: heapMb() - base.heap,
            },
            rejectionLines: o.lines.slice(base.lines).filter(l => l.includes("Rejected telemetry")).length,
            valid: { sent: good.seq, lost: good.lost, latencies: good.latencies },
            device: server.controller.device(GOOD_ID),
            commandsFailed: stats.commandsFailed - base.stats.commandsFailed,
        }
    } finally {
        process.off("uncaughtException", onCrash)
        process.off("unhandledRejection", onCrash)
        broker.aedes.off("clientError", onClientError)
        broker.aedes.off("connectionError", onClientError)
        await closeClient(good.client)
    }
}

function countedSince(now: ServerStats, before: ServerStats): Record<RejectionReason, number> {
    return Object.fromEntries(REJECTION_REASONS.map(r => [r, now.rejected[r] - before.rejected[r]])) as Record<
        RejectionReason,
        number
    >
}

export function percentiles(values: number[]): string {
    if (values.length === 0) return "none"
    const sorted = [...values].sort((a, b) => a - b)
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1)
    return `p50 ${at(0.5)} / p99 ${at(0.99)} / max ${sorted[sorted.length - 1].toFixed(1)} ms (n=${sorted.length})`
}

/** One paragraph with every figure, for the test's output and the bench. */
export function summary(r: FloodResult): string {
    const byReason = REJECTION_REASONS.map(x => `${x} ${r.counted[x]}/${r.sent[x]}`).join(", ")
    const closed = [...r.raw.values()].reduce((s, o) => s + o["closed by the broker"], 0)
    const open = [...r.raw.entries()].filter(([, o]) => o["left open"] > 0).map(([name]) => name)
    const { leaks, valid } = r
    return (
        `fuzz (seed ${r.seed}): ${r.payloads + r.rawPackets} messages fuzzed in ${r.floodSeconds.toFixed(1)} s ` +
        `(${r.payloads} MQTT payloads + ${r.rawPackets} raw packets on ${r.rawConnections} connections). ` +
        `Counted/sent by reason: ${byReason}; unrouted (no subscriber) ${r.sent.unrouted}. ` +
        `Raw connections closed by the broker: ${closed}/${r.rawConnections}; left open until we closed them: ` +
        `${open.join("; ") || "none"}. Broker client errors: ${r.brokerClientErrors}. ` +
        `Crashes: ${r.crashes.length + r.errorLines.length}. Leaks: clients ${leaks.clients}, sockets ${leaks.sockets}, ` +
        `devices ${leaks.otherDevices.length}, heap ${leaks.heapMb >= 0 ? "+" : ""}${leaks.heapMb.toFixed(1)} MB. ` +
        `Rejection log lines: ${r.rejectionLines}. Valid readings: ${valid.sent} sent, ${valid.lost.length} lost. ` +
        `Reading→command latency: before ${percentiles(valid.latencies.before)}; ` +
        `during ${percentiles(valid.latencies.during)}; after ${percentiles(valid.latencies.after)}`
    )
}
