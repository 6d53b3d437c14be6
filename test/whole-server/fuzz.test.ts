/**
 * Hostile input against the real server (controller + embedded aedes on a free port, history in memory),
 * all at once (test/helpers/flood.ts): a dozen mqtt.js clients publishing more than 10 000 malformed
 * telemetry messages, raw TCP connections sending malformed MQTT packets, and one well-behaved device
 * speaking the reliable protocol throughout. Checked: the server keeps serving, every bad message is
 * counted under the reason it was built for, nothing crashes or leaks, and the device gets every
 * command and ack, before, during and after the flood. FUZZ_SEED=n reproduces a run; `npx tsx
 * test/whole-server/fuzz-long.ts` runs a longer one.
 */
import { afterAll, beforeAll, expect, test } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { REJECTION_REASONS } from "../../server/controller/events"
import { DEFAULT_LOG_LIMIT } from "../../server/util/log-limit"
import { DEFAULT_RATE_LIMIT } from "../../server/util/rate-limit"
import { GOOD_ID, runFlood, summary, type FloodResult } from "../helpers/flood"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { RAW_SCENARIOS } from "../helpers/raw-mqtt"

const SEED = Number(process.env.FUZZ_SEED ?? 424242)
/** At least this many malformed MQTT payloads (the raw packets come on top). */
const MIN_PAYLOADS = 10_000
/**
 * Each hostile client stays within the default per-client rate limit's burst (server/util/rate-limit.ts), so
 * the counts hold whether or not the broker limits clients: every message reaches the server.
 */
const PER_CLIENT = Math.floor(DEFAULT_RATE_LIMIT.burst * 0.85)

const { logger, lines } = recordingLogger("info")
let server: RunningServer
let result: FloodResult

beforeAll(async () => {
    server = await startServer({ broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300 }, logger)
    result = await runFlood({
        server,
        lines,
        seed: SEED,
        hostileClients: Math.ceil(MIN_PAYLOADS / PER_CLIENT),
        perClient: PER_CLIENT,
        rawRounds: 8,
    })
    console.log(summary(result))
}, 60_000)

afterAll(async () => {
    await server?.stop()
})

test("more than 10 000 malformed payloads, and malformed packets from raw TCP connections", () => {
    expect(result.payloads).toBeGreaterThanOrEqual(MIN_PAYLOADS)
    expect(result.rawConnections).toBeGreaterThanOrEqual(100)
})

test("every bad message is counted under the reason it was built for; nothing else reached the server", () => {
    for (const reason of REJECTION_REASONS)
        expect({ reason, counted: result.counted[reason] }).toEqual({ reason, counted: result.sent[reason] })
    expect(result.received.actual).toBe(result.received.expected)
})

test("the broker drops every connection that breaks the protocol in a way it can see at once", () => {
    for (const s of RAW_SCENARIOS.filter(s => s.mustClose))
        expect({ scenario: s.name, ...result.raw.get(s.name) }).toMatchObject({ "left open": 0 })
})

test("no crash, no error, no leak; the flood cost a bounded number of log lines", () => {
    expect(result.crashes).toEqual([])
    expect(result.errorLines).toEqual([])
    expect(result.leaks).toMatchObject({ clients: 0, sockets: 0, otherDevices: [] })
    expect(result.leaks.heapMb).toBeLessThan(8)
    // ten lines per reason; the summaries come when the minute ends
    expect(result.rejectionLines).toBeLessThanOrEqual(REJECTION_REASONS.length * DEFAULT_LOG_LIMIT.linesPerWindow)
})

test("the well-behaved device got every command and every ack, before, during and after", () => {
    expect(result.valid.lost).toEqual([])
    expect(result.valid.latencies.during.length).toBeGreaterThan(10)
    expect(result.device).toMatchObject({ lastSeq: result.valid.sent, gaps: 0, duplicates: 0 })
    expect(result.commandsFailed).toBe(0)
})

test("a client flooding past its burst is held to its rate by the broker; a device is served meanwhile", async () => {
    const { burst, ratePerSecond } = DEFAULT_RATE_LIMIT
    const flooder = await connectClient(server.brokerUrl, { clientId: "flooder" })
    const device = await connectClient(server.brokerUrl, { clientId: "rate-devicenightlight_client" })
    try {
        const commands = await Inbox.open(device, "rate-device/commands")
        const counted = () => server.controller.stats().rejected.not_json - before
        const before = server.controller.stats().rejected.not_json
        const started = performance.now()
        const sent = 3 * burst
        for (let i = 0; i < sent; i++) flooder.publish("flood/telemetry", "junk")
        device.publish("rate-device/telemetry", '{"light": 5}')
        expect((await commands.nextJson()).json).toMatchObject({ led_on: true })
        await until("the flooder's burst to be handled", () => counted() >= burst, 10_000)
        // at most the burst and the rate for the time it has had; the rest was dropped, not delayed
        const allowed = burst + (ratePerSecond * (performance.now() - started)) / 1000 + 1
        const passed = counted()
        console.log(`a flood of ${sent} from one client: ${passed} reached the server (allowed ${Math.floor(allowed)})`)
        expect(passed).toBeLessThanOrEqual(allowed)
        expect(passed).toBeLessThan(sent)
    } finally {
        await closeClient(flooder)
        await closeClient(device)
    }
})

test("the server still serves afterwards", async () => {
    const client = await connectClient(server.brokerUrl)
    try {
        const commands = await Inbox.open(client, "after-flood/commands")
        client.publish("after-flood/telemetry", '{"light": 12}')
        expect((await commands.nextJson()).json).toMatchObject({ led_on: true })
        expect(server.controller.deviceIds().sort()).toEqual(["after-flood", GOOD_ID, "rate-device"])
    } finally {
        await closeClient(client)
    }
})
