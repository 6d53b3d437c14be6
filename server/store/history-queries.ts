/**
 * The history's reads, for the charts: the (device, t) key range only, wide ranges from the per-minute
 * rollup, so a month does not block the server. Flushed rows only: flush first if needed.
 */
import type { HistoryCommand, HistoryPoint } from "../http/api-types"
import type { Db } from "./database"
import type { DeviceKeys } from "./device-keys"

export const MINUTE = 60_000

/** See HISTORY_DEFAULTS (history.ts). */
export interface RollupLimits {
    /** ms */
    rollupFromBucketMs: number
    /** ms */
    rollupFromRangeMs: number
}

export interface Bucket {
    b: number
    n: number
    sum: number
    lo: number
    hi: number
    led: number | null
}

const ledBool = (led: number | null): boolean | null => (led === null ? null : led === 1)
/** max() that treats null as "not known" rather than as "unknown result" (SQL's scalar max). */
const ledMax = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b))

// Bound numbers reach SQLite as doubles: CAST them, so bucket numbers come from integer division.
const BUCKET_OF_T = "min(@last, (t - CAST(@origin AS INTEGER)) / CAST(@bucket AS INTEGER))"

export class HistoryQueries {
    private readonly sql

    /** `limits` is read at each query, not copied. */
    constructor(
        db: Db,
        private readonly keys: DeviceKeys,
        private readonly limits: Readonly<RollupLimits>
    ) {
        const range = "device = @device AND t BETWEEN @from AND @to"
        this.sql = {
            raw: db.prepare<object, { t: number; light: number; led: number | null }>(
                `SELECT t, light, led FROM readings WHERE ${range} ORDER BY t LIMIT @limit`
            ),
            buckets: db.prepare<object, Bucket>(
                `SELECT ${BUCKET_OF_T} AS b, count(*) AS n, sum(light) AS sum, min(light) AS lo, max(light) AS hi,
                 max(led) AS led FROM readings WHERE ${range} GROUP BY b`
            ),
            minuteBuckets: db.prepare<object, Bucket>(
                `SELECT ${BUCKET_OF_T.replace("(t -", "(m -")} AS b, sum(n) AS n, sum(sum) AS sum, min(lo) AS lo,
                 max(hi) AS hi, max(led) AS led FROM readings_by_minute
                 WHERE device = @device AND m BETWEEN @from AND @to GROUP BY b`
            ),
            commands: db.prepare<object, { t: number; led_on: number; reason: string }>(
                `SELECT t, led_on, reason FROM commands WHERE ${range} ORDER BY t LIMIT @limit`
            ),
        }
    }

    /**
     * All readings (bucketMs 0) when at most `points`, else at most `points` buckets (from the rollup:
     * whole minutes) with mean, min and max light, led true if any reading was on.
     */
    readings(
        deviceId: string,
        from: number,
        to: number,
        points: number
    ): { bucketMs: number; readings: HistoryPoint[] } {
        const device = this.keys.find(deviceId)
        points = Math.max(1, Math.floor(points))
        if (device === undefined || !(from <= to)) return { bucketMs: 0, readings: [] }
        const raw = this.sql.raw.all({ device, from, to, limit: points + 1 })
        if (raw.length <= points) return { bucketMs: 0, readings: raw.map(r => ({ ...r, led: ledBool(r.led) })) }
        const bucketMs = Math.max(1, Math.ceil((to - from) / points))
        if (bucketMs < this.limits.rollupFromBucketMs && to - from <= this.limits.rollupFromRangeMs) {
            const rows = this.sql.buckets.all({ device, from, to, origin: from, bucket: bucketMs, last: points - 1 })
            return { bucketMs, readings: toPoints(rows, from, bucketMs) }
        }
        return this.readingsByMinute(device, from, to, points)
    }

    /** Buckets of whole minutes: full minutes from the rollup, the partial first and last minute from readings. */
    private readingsByMinute(device: number, from: number, to: number, points: number) {
        const origin = Math.floor(from / MINUTE) * MINUTE
        const bucketMs = Math.ceil((to + 1 - origin) / points / MINUTE) * MINUTE
        const firstFull = Math.ceil(from / MINUTE) * MINUTE
        const end = Math.floor((to + 1) / MINUTE) * MINUTE // first minute not wholly in range
        const common = { device, origin, bucket: bucketMs, last: points - 1 }
        const parts = [
            ...this.sql.buckets.all({ ...common, from, to: Math.min(to, firstFull - 1) }),
            ...this.sql.minuteBuckets.all({ ...common, from: firstFull, to: end - MINUTE }),
            ...this.sql.buckets.all({ ...common, from: Math.max(from, end), to }),
        ]
        const merged = new Map<number, Bucket>()
        for (const part of parts) {
            const into = merged.get(part.b)
            if (into) addTo(into, part)
            else merged.set(part.b, { ...part })
        }
        return { bucketMs, readings: toPoints([...merged.values()], origin, bucketMs) }
    }

    commands(deviceId: string, from: number, to: number, limit: number): HistoryCommand[] {
        const device = this.keys.find(deviceId)
        if (device === undefined || !(from <= to)) return []
        return this.sql.commands
            .all({ device, from, to, limit: Math.max(0, Math.floor(limit)) })
            .map(c => ({ t: c.t, ledOn: c.led_on === 1, reason: c.reason }))
    }
}

export function addTo(into: Bucket, part: Bucket): void {
    into.n += part.n
    into.sum += part.sum
    into.lo = Math.min(into.lo, part.lo)
    into.hi = Math.max(into.hi, part.hi)
    into.led = ledMax(into.led, part.led)
}

function toPoints(buckets: Bucket[], origin: number, bucketMs: number): HistoryPoint[] {
    return buckets
        .sort((a, b) => a.b - b.b)
        .map(k => ({ t: origin + k.b * bucketMs, light: k.sum / k.n, min: k.lo, max: k.hi, led: ledBool(k.led) }))
}
