/**
 * `npx tsx bench/history.ts [--devices N] [--days D]`: how the embedded history store (server/store)
 * holds up with months of 2-second readings. Fills a temp database through History, then times insert
 * throughput (bulk, and the server's way: one flush per round of readings), queries for one device
 * (1 hour raw; 1 day and 30 days in 1000 buckets; 30 days in 10000; median of several runs), pruning a
 * day, and the file size per row. Prints a table, writes test-results/bench-history.json, and always
 * deletes its temp files (also on Ctrl-C: the fill yields to the event loop between flushes).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { openDatabase, type Db } from "../server/store/database"
import { History } from "../server/store/history"
import { STORE_DEFAULTS } from "../server/store/index"

const HELP = `usage: npx tsx bench/history.ts [options]
  --devices N   devices writing a reading every 2 s (default ${defaults().devices})
  --days D      days of readings to fill (default ${defaults().days}; the long query spans min(D, 30) days)
  -h, --help`
const OUTPUT = "test-results/bench-history.json"
const READING_EVERY_MS = 2000
const DAY = 86_400_000
const HOUR = 3_600_000
/** Runs per query; the median is reported. */
const QUERY_RUNS = 7
/** Ticks (one reading per device each) written per flush while filling. */
const FILL_TICKS_PER_FLUSH = 500
/** Ticks written with one flush each, as the server does, for the "server-like" figure. */
const SERVER_LIKE_TICKS = 2000

/**
 * The case: two dozen devices, a month of 2 s readings (31 M rows). Measured on this 2-core
 * machine: ~45 s of filling at ~0.7 M rows/s, ~50 s in all. `--devices 12` halves it.
 */
function defaults() {
    return { devices: 24, days: 30 }
}

function parseArgs(argv: string[]): { devices: number; days: number } | undefined {
    const options = defaults()
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]
        const value = Number(argv[i + 1])
        if (arg === "-h" || arg === "--help") return undefined
        if (arg !== "--devices" && arg !== "--days") throw new Error(`unknown option ${arg}\n${HELP}`)
        if (!Number.isInteger(value) || value <= 0)
            throw new Error(`${arg} needs a positive integer, got ${argv[i + 1]}`)
        options[arg === "--devices" ? "devices" : "days"] = value
        i++
    }
    return options
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const ms = (from: number): number => performance.now() - from
const round = (value: number, digits = 2): number => Number(value.toFixed(digits))
/** A plausible day: dark at night, bright at noon, some noise; the LED follows the lesson's rule. */
const lightAt = (t: number, device: number): number =>
    Math.round(500 - 450 * Math.cos((2 * Math.PI * (t % DAY)) / DAY) + ((t / 2000 + device * 7) % 37))

function timeRuns(run: () => number): { medianMs: number; rows: number } {
    const times: number[] = []
    let rows = 0
    for (let i = 0; i < QUERY_RUNS; i++) {
        const start = performance.now()
        rows = run()
        times.push(ms(start))
    }
    return { medianMs: round(median(times), 3), rows }
}

async function fill(
    history: History,
    devices: number,
    from: number,
    ticks: number,
    ticksPerFlush: number
): Promise<number> {
    const names = Array.from({ length: devices }, (_, d) => `device-${d}`)
    let rows = 0
    for (let k = 0; k < ticks; k++) {
        const t = from + k * READING_EVERY_MS
        for (let d = 0; d < devices; d++) {
            const light = lightAt(t, d)
            history.addReading(names[d], t, light, light < 300)
        }
        if ((k + 1) % ticksPerFlush === 0 || k === ticks - 1) rows += history.flush()
        if ((k + 1) % 5000 === 0) await new Promise(resolve => setImmediate(resolve)) // lets Ctrl-C in
    }
    return rows
}

async function run(devices: number, days: number, dir: string) {
    const file = join(dir, "history.db")
    const db: Db = openDatabase(file)
    const start = Date.UTC(2025, 0, 1)
    const ticks = (days * DAY) / READING_EVERY_MS
    const history = new History(db, { retentionMs: (days - 1) * DAY, now: () => start + days * DAY })
    console.log(
        `filling ${devices} devices × ${days} days of 2 s readings = ${(devices * ticks).toLocaleString()} rows`
    )

    let t0 = performance.now()
    const filled = await fill(history, devices, start, ticks, FILL_TICKS_PER_FLUSH)
    const fillS = ms(t0) / 1000
    t0 = performance.now()
    const end = start + ticks * READING_EVERY_MS
    const serverLike = await fill(history, devices, end, SERVER_LIKE_TICKS, 1)
    const serverLikeMs = ms(t0)
    db.pragma("wal_checkpoint(TRUNCATE)")
    const rowsInDb = filled + serverLike
    const bytes = statSync(file).size

    const emptyFlush = timeRuns(() => {
        for (let i = 0; i < 10_000; i++) history.flush()
        return 0
    })
    const oneRowFlush = timeRuns(() => {
        history.addReading("device-0", end + SERVER_LIKE_TICKS * READING_EVERY_MS + 1, 300, null)
        return history.flush()
    })

    const to = end - 1
    const span = Math.min(days, 30) * DAY
    const queries = {
        raw1h: timeRuns(() => history.readings("device-0", to - HOUR + 1, to, 10_000).readings.length),
        bucketed1d: timeRuns(() => history.readings("device-0", to - DAY + 1, to, 1000).readings.length),
        bucketedLong: timeRuns(() => history.readings("device-0", to - span + 1, to, 1000).readings.length),
        bucketedLong10k: timeRuns(() => history.readings("device-0", to - span + 1, to, 10_000).readings.length),
        // What the long query costs without the per-minute rollup: every reading, grouped.
        bucketedLongNoRollup: timeRuns(
            () =>
                db
                    .prepare(
                        `SELECT (t - CAST(? AS INTEGER)) / CAST(? AS INTEGER) AS b, avg(light), min(light), max(light),
                         max(led) FROM readings WHERE device = (SELECT id FROM devices WHERE name = 'device-0')
                         AND t BETWEEN ? AND ? GROUP BY b`
                    )
                    .all(to - span + 1, Math.ceil(span / 1000), to - span + 1, to).length
        ),
    }

    // Prune the first day of every device (retention = days - 1), one slice at a time as the Store does.
    const sliceTimes: number[] = []
    let pruned = 0
    for (let slice = 0; slice < 10_000; slice++) {
        t0 = performance.now()
        const n = history.prune(undefined, STORE_DEFAULTS.pruneSliceRows)
        sliceTimes.push(ms(t0))
        pruned += n
        if (n < STORE_DEFAULTS.pruneSliceRows) break
    }
    const pruneMs = sliceTimes.reduce((a, b) => a + b, 0)
    db.close()

    return {
        devices,
        days,
        rows: rowsInDb,
        fillSeconds: round(fillS, 1),
        bulkInsertRowsPerS: Math.round(filled / fillS),
        serverLikeInsertRowsPerS: Math.round(serverLike / (serverLikeMs / 1000)),
        serverLikeFlushMs: round(serverLikeMs / SERVER_LIKE_TICKS, 3),
        emptyFlushMicros: round((emptyFlush.medianMs * 1000) / 10_000, 3),
        oneRowFlushMs: oneRowFlush.medianMs,
        raw1hMs: queries.raw1h.medianMs,
        raw1hRows: queries.raw1h.rows,
        bucketed1dMs: queries.bucketed1d.medianMs,
        bucketed1dPoints: queries.bucketed1d.rows,
        longDays: span / DAY,
        bucketedLongMs: queries.bucketedLong.medianMs,
        bucketedLongPoints: queries.bucketedLong.rows,
        bucketedLong10kMs: queries.bucketedLong10k.medianMs,
        bucketedLong10kPoints: queries.bucketedLong10k.rows,
        bucketedLongNoRollupMs: queries.bucketedLongNoRollup.medianMs,
        prunedRows: pruned,
        pruneRowsPerS: Math.round(pruned / (pruneMs / 1000)),
        pruneWorstSliceMs: round(Math.max(...sliceTimes), 1),
        fileMB: round(bytes / 1e6, 1),
        bytesPerRow: round(bytes / rowsInDb, 1),
    }
}

async function main(): Promise<void> {
    let options
    try {
        options = parseArgs(process.argv.slice(2))
    } catch (err) {
        console.error((err as Error).message)
        process.exit(2)
    }
    if (!options) {
        console.log(HELP)
        return
    }
    const dir = mkdtempSync(join(tmpdir(), "nightlight-bench-history-"))
    const cleanUp = () => rmSync(dir, { recursive: true, force: true })
    process.once("SIGINT", () => {
        cleanUp()
        process.exit(130)
    })
    let result
    try {
        result = await run(options.devices, options.days, dir)
    } finally {
        cleanUp()
    }
    const r = result
    const rows: [string, string][] = [
        ["rows stored", `${r.rows.toLocaleString()} (${r.devices} devices × ${r.days} days)`],
        [
            "fill (bulk, 500 readings/device/flush)",
            `${r.bulkInsertRowsPerS.toLocaleString()} rows/s (${r.fillSeconds} s)`,
        ],
        [
            "insert, one flush per round of readings",
            `${r.serverLikeInsertRowsPerS.toLocaleString()} rows/s, ${r.serverLikeFlushMs} ms/flush of ${r.devices}`,
        ],
        ["flush() of 1 row / of nothing", `${r.oneRowFlushMs} ms / ${r.emptyFlushMicros} µs`],
        ["1 hour raw, one device", `${r.raw1hMs} ms (${r.raw1hRows} readings)`],
        ["1 day, 1000 points", `${r.bucketed1dMs} ms (${r.bucketed1dPoints} buckets)`],
        [`${r.longDays} days, 1000 points`, `${r.bucketedLongMs} ms (${r.bucketedLongPoints} buckets)`],
        [`${r.longDays} days, 10000 points`, `${r.bucketedLong10kMs} ms (${r.bucketedLong10kPoints} buckets)`],
        [`${r.longDays} days without the rollup`, `${r.bucketedLongNoRollupMs} ms`],
        [
            "prune (1 day of every device)",
            `${r.pruneRowsPerS.toLocaleString()} rows/s, ` +
                `worst slice of ${STORE_DEFAULTS.pruneSliceRows.toLocaleString()} rows ${r.pruneWorstSliceMs} ms`,
        ],
        ["file size", `${r.fileMB} MB, ${r.bytesPerRow} bytes/row`],
    ]
    console.log(`\nqueries: median of ${QUERY_RUNS} runs`)
    for (const [what, value] of rows) console.log(`  ${what.padEnd(42)} ${value}`)
    mkdirSync("test-results", { recursive: true })
    writeFileSync(OUTPUT, JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2) + "\n")
    console.log(`\nwrote ${OUTPUT}`)
}

await main()
