/**
 * The history's writes. Store.commit() appends to `staged_readings`, a page or two per transaction rather
 * than a page per device; Store.flush() merges them into `readings` and the rollup.
 */
import type { HistoryCommand, HistoryPoint } from "../http/api-types"
import { BulkInsert, writeError, type Db } from "./database"
import { deviceKeys, type DeviceKeys } from "./device-keys"
import { addTo, HistoryQueries, MINUTE, type Bucket } from "./history-queries"
import { HistoryRetention } from "./history-retention"

const DAY = 24 * 60 * MINUTE

export const HISTORY_DEFAULTS = {
    /** Readings and commands older than this are pruned (ms); Infinity keeps everything. */
    retentionMs: 30 * DAY,
    pruneChunkRows: 10_000,
    /**
     * Buckets at least this wide (ms), or of a range longer than rollupFromRangeMs, are built from the
     * per-minute rollup, widened to whole minutes. Below, they read every reading (at most ~86 k a device
     * at 2 s, ~20 ms); above, up to 30× fewer rows, at the price of fewer points than asked for.
     */
    rollupFromBucketMs: 5 * MINUTE,
    rollupFromRangeMs: 2 * DAY,
    /** Rows kept in memory while flushes fail (disk full); beyond it the oldest are dropped and counted. */
    maxPendingRows: 200_000,
}

export interface HistoryOptions {
    retentionMs?: number
    now?: () => number
}

interface PendingReading {
    device: string
    t: number
    light: number
    led: boolean | null
}
interface PendingCommand {
    device: string
    t: number
    ledOn: boolean
    reason: string
    seq: number
}
export interface PendingHistory {
    readings: PendingReading[]
    commands: PendingCommand[]
}

type StoredReading = [device: number, t: number, light: number, led: number | null]

const ledInt = (led: boolean | null): number | null => (led === null ? null : led ? 1 : 0)
/** The minute of an integer `t` (ms) in SQL, rounded down also below 0, as Math.floor does. */
const MINUTE_OF_T = `t - ((t % ${MINUTE}) + ${MINUTE}) % ${MINUTE}`
/** Thrown inside the fast merge to roll it back: a staged reading collides with a stored one. */
const COLLISION = Symbol("collision")
const ADD_TO_MINUTE = `ON CONFLICT (device, m) DO UPDATE SET n = n + excluded.n, sum = sum + excluded.sum,
    lo = min(lo, excluded.lo), hi = max(hi, excluded.hi), led = coalesce(max(led, excluded.led), led, excluded.led)`

export class History {
    readonly retentionMs: number
    private readonly now: () => number
    private readonly keys: DeviceKeys
    private pending: PendingHistory = { readings: [], commands: [] }
    private moved = 0
    private repeated = 0
    private droppedRows = 0
    private readonly sql
    private readonly queries: HistoryQueries
    private readonly retention: HistoryRetention

    constructor(
        private readonly db: Db,
        options: HistoryOptions = {}
    ) {
        this.retentionMs = options.retentionMs ?? HISTORY_DEFAULTS.retentionMs
        this.now = options.now ?? Date.now
        this.keys = deviceKeys(db)
        this.sql = {
            insertReading: db.prepare("INSERT INTO readings VALUES (?, ?, ?, ?) ON CONFLICT (device, t) DO NOTHING"),
            stageReadings: new BulkInsert(db, "staged_readings", 4),
            stagedCount: db.prepare<[], number>("SELECT count(*) FROM staged_readings").pluck(),
            // The rowid of the nth staged reading (0-based): the last one of a merge of n + 1.
            nthStaged: db
                .prepare<[number], number>("SELECT rowid FROM staged_readings ORDER BY rowid LIMIT 1 OFFSET ?")
                .pluck(),
            staged: db
                .prepare<[number]>("SELECT device, t, light, led FROM staged_readings WHERE rowid <= ? ORDER BY rowid")
                .raw(),
            // The staged readings up to a rowid at once; the WHERE also tells SQLite's parser that ON starts the upsert.
            mergeStaged: db.prepare<[number]>(
                `INSERT INTO readings SELECT device, t, light, led FROM staged_readings WHERE rowid <= ?
                 ON CONFLICT DO NOTHING`
            ),
            rollUpStaged: db.prepare<[number]>(
                `INSERT INTO readings_by_minute SELECT device, ${MINUTE_OF_T} AS m, count(*), sum(light), min(light),
                 max(light), max(led) FROM staged_readings WHERE rowid <= ? GROUP BY device, m ${ADD_TO_MINUTE}`
            ),
            clearStaged: db.prepare<[number]>("DELETE FROM staged_readings WHERE rowid <= ?"),
            sameReading: db
                .prepare<[number, number, number, number | null], number>(
                    "SELECT 1 FROM readings WHERE device = ? AND t = ? AND light = ? AND led IS ?"
                )
                .pluck(),
            // The first t at or after the wanted one whose next ms is free (always found: the last row's is).
            nextFreeT: db
                .prepare<{ device: number; t: number }, number>(
                    `SELECT r.t + 1 FROM readings r WHERE r.device = @device AND r.t >= @t
                     AND NOT EXISTS (SELECT 1 FROM readings s WHERE s.device = @device AND s.t = r.t + 1)
                     ORDER BY r.t LIMIT 1`
                )
                .pluck(),
            addToMinute: db.prepare(`INSERT INTO readings_by_minute VALUES (?, ?, ?, ?, ?, ?, ?) ${ADD_TO_MINUTE}`),
            insertCommand: db.prepare("INSERT INTO commands (device, t, led_on, reason, seq) VALUES (?, ?, ?, ?, ?)"),
        }
        // The defaults object itself, not a copy: each reads its limits at each call.
        this.queries = new HistoryQueries(db, this.keys, HISTORY_DEFAULTS)
        this.retention = new HistoryRetention(db, HISTORY_DEFAULTS)
    }

    /** Buffers one reading. `t` is ms since 1970 (an integer); throws RangeError on values SQL would reject. */
    addReading(deviceId: string, t: number, light: number, led: boolean | null): void {
        if (!Number.isSafeInteger(t)) throw new RangeError(`reading of ${deviceId}: t must be integer ms, got ${t}`)
        if (!Number.isFinite(light)) throw new RangeError(`reading of ${deviceId}: light must be finite, got ${light}`)
        this.pending.readings.push({ device: deviceId, t, light, led })
        this.capPending()
    }

    addCommand(deviceId: string, t: number, ledOn: boolean, reason: string, seq: number): void {
        if (!Number.isSafeInteger(t)) throw new RangeError(`command to ${deviceId}: t must be integer ms, got ${t}`)
        this.pending.commands.push({ device: deviceId, t, ledOn, reason, seq })
        this.capPending()
    }

    pendingCount(): number {
        return this.pending.readings.length + this.pending.commands.length
    }

    /** Readings stored 1+ ms later than given because their device already had one at that ms. */
    get movedReadings(): number {
        return this.moved
    }

    /** Readings not stored again: the same device, time, light and LED as one stored before. */
    get repeatedReadings(): number {
        return this.repeated
    }

    get dropped(): number {
        return this.droppedRows
    }

    /** Throws StoreError on failure, keeping every row for the next flush. */
    flush(): number {
        if (this.pendingCount() === 0) return 0
        const taken = this.takePending()
        try {
            return this.db.transaction(() => {
                const written = this.stage(taken)
                this.merge()
                return written
            })()
        } catch (err) {
            this.returnPending(taken)
            throw writeError(this.db, err)
        }
    }

    takePending(): PendingHistory {
        const taken = this.pending
        this.pending = { readings: [], commands: [] }
        return taken
    }

    /** Before anything added since. */
    returnPending(taken: PendingHistory): void {
        this.keys.forget()
        this.pending = {
            readings: taken.readings.concat(this.pending.readings),
            commands: taken.commands.concat(this.pending.commands),
        }
        this.capPending()
    }

    /** Inside a transaction. */
    stage(taken: PendingHistory): number {
        const values: unknown[] = []
        for (const r of taken.readings) values.push(this.keys.key(r.device), r.t, r.light, ledInt(r.led))
        this.sql.stageReadings.run(values)
        for (const c of taken.commands)
            this.sql.insertCommand.run(this.keys.key(c.device), c.t, c.ledOn ? 1 : 0, c.reason, c.seq)
        return taken.readings.length + taken.commands.length
    }

    /**
     * Inside a transaction: the oldest `maxRows` staged readings (all by default) into their tables; returns
     * how many stay staged. One statement, unless one collides with a stored reading: then one by one.
     */
    merge(maxRows = Infinity): number {
        const staged = this.sql.stagedCount.get() ?? 0
        if (staged === 0) return 0
        const count = Math.min(staged, Math.max(1, maxRows))
        const last = count === staged ? Number.MAX_SAFE_INTEGER : (this.sql.nthStaged.get(count - 1) as number)
        try {
            // Nested: a savepoint, rolled back by the throw.
            this.db.transaction(() => {
                if (this.sql.mergeStaged.run(last).changes !== count) throw COLLISION
                this.sql.rollUpStaged.run(last)
            })()
        } catch (err) {
            if (err !== COLLISION) throw err
            this.writeReadings(this.sql.staged.all(last) as StoredReading[])
        }
        this.sql.clearStaged.run(last)
        return staged - count
    }

    /** One by one, in order: a reading stored before is not stored again; another in the same ms moves on. */
    private writeReadings(readings: StoredReading[]): void {
        const minutes = new Map<string, Bucket & { device: number }>()
        for (const [device, stagedT, light, led] of readings) {
            let t = stagedT
            if (this.sql.insertReading.run(device, t, light, led).changes === 0) {
                // The same reading stored before: resent by a device whose ack a restart of the server
                // lost (its time comes from the device's clock, so it is the same ms).
                if (this.sql.sameReading.get(device, t, light, led) !== undefined) {
                    this.repeated++
                    continue
                }
                // Another reading has this ms: keep both, this one at the next free ms.
                t = this.sql.nextFreeT.get({ device, t }) as number
                this.sql.insertReading.run(device, t, light, led)
                this.moved++
            }
            const m = Math.floor(t / MINUTE) * MINUTE
            const id = `${device}/${m}`
            const minute = minutes.get(id)
            if (!minute) minutes.set(id, { device, b: m, n: 1, sum: light, lo: light, hi: light, led })
            else addTo(minute, { b: m, n: 1, sum: light, lo: light, hi: light, led })
        }
        for (const { device, b, n, sum, lo, hi, led } of minutes.values())
            this.sql.addToMinute.run(device, b, n, sum, lo, hi, led)
    }

    /** See HistoryQueries.readings. */
    readings(
        deviceId: string,
        from: number,
        to: number,
        points: number
    ): { bucketMs: number; readings: HistoryPoint[] } {
        return this.queries.readings(deviceId, from, to, points)
    }

    commands(deviceId: string, from: number, to: number, limit = 10_000): HistoryCommand[] {
        return this.queries.commands(deviceId, from, to, limit)
    }

    /** See HistoryRetention.prune. */
    prune(now = this.now(), maxRows = Infinity): number {
        if (!Number.isFinite(this.retentionMs)) return 0
        return this.retention.prune(now - this.retentionMs, maxRows)
    }

    private capPending(): void {
        const excess = this.pendingCount() - HISTORY_DEFAULTS.maxPendingRows
        if (excess <= 0) return
        const readings = Math.min(excess, this.pending.readings.length)
        this.pending.readings.splice(0, readings)
        this.pending.commands.splice(0, excess - readings)
        this.droppedRows += excess
    }
}
