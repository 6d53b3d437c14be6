/**
 * A longer fuzz run than test/whole-server/fuzz.test.ts, by hand: `npx tsx test/whole-server/fuzz-long.ts [--seed N] [--clients N]
 * [--per-client N] [--raw-rounds N]`. The real server (embedded broker on a free loopback port, history
 * in memory) under hostile mqtt.js clients and raw TCP connections, with one well-behaved device
 * throughout (test/helpers/flood.ts). Prints the figures; exits 1 when a message was miscounted, a
 * valid reading lost, or anything crashed or leaked. Loopback only, bounded in count.
 */
import { parseArgs } from "node:util"
import { startServer } from "../../server/app"
import { REJECTION_REASONS } from "../../server/controller/events"
import { DEFAULT_RATE_LIMIT } from "../../server/util/rate-limit"
import { runFlood, summary } from "../helpers/flood"
import { recordingLogger } from "../helpers/mqtt"

const DEFAULTS = {
    seed: Date.now() % 1_000_000,
    /** Hostile mqtt.js clients, each within the default rate limit's burst. */
    clients: 50,
    perClient: Math.floor(DEFAULT_RATE_LIMIT.burst * 0.85),
    /** Times each raw-packet scenario is played (19 connections a round). */
    rawRounds: 40,
}

function number(value: string | undefined, fallback: number, name: string, max: number): number {
    if (value === undefined) return fallback
    const n = Number(value)
    if (!Number.isSafeInteger(n) || n < 1 || n > max) {
        console.error(`--${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`)
        process.exit(2)
    }
    return n
}

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: {
            seed: { type: "string" },
            clients: { type: "string" },
            "per-client": { type: "string" },
            "raw-rounds": { type: "string" },
        },
    })
    const seed = number(values.seed, DEFAULTS.seed, "seed", 2 ** 31)
    const clients = number(values.clients, DEFAULTS.clients, "clients", 500)
    const perClient = number(values["per-client"], DEFAULTS.perClient, "per-client", 100_000)
    const rawRounds = number(values["raw-rounds"], DEFAULTS.rawRounds, "raw-rounds", 1000)

    const { logger, lines } = recordingLogger("info")
    const server = await startServer(
        { broker: { kind: "embedded", host: "127.0.0.1", port: 0 }, threshold: 300 },
        logger
    )
    try {
        console.log(`fuzzing ${server.brokerUrl}: ${clients} clients × ${perClient} messages, seed ${seed}`)
        const result = await runFlood({ server, lines, seed, hostileClients: clients, perClient, rawRounds })
        console.log(summary(result))
        const problems = [
            ...REJECTION_REASONS.filter(r => result.counted[r] !== result.sent[r]).map(
                r => `${r}: counted ${result.counted[r]}, sent ${result.sent[r]}`
            ),
            ...(result.received.actual === result.received.expected
                ? []
                : [`received ${result.received.actual}, expected ${result.received.expected}`]),
            ...result.crashes,
            ...result.errorLines,
            ...result.valid.lost,
            ...(result.leaks.clients || result.leaks.sockets
                ? [`leaked connections: ${JSON.stringify(result.leaks)}`]
                : []),
            ...result.leaks.otherDevices.map(id => `a device entry for ${JSON.stringify(id)}`),
        ]
        if (problems.length > 0) {
            console.error(`FAILED (seed ${seed}):\n  ${problems.slice(0, 50).join("\n  ")}`)
            process.exitCode = 1
        } else console.log("OK: every bad message counted by reason, no valid reading lost, no crash, no leak")
    } finally {
        await server.stop()
    }
}

await main()
