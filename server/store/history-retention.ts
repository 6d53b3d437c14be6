/**
 * The pruning of the history (history.ts): readings, their per-minute rollup and commands older than the
 * retention are deleted, a chunk of rows per statement, each statement a short transaction of its own, so
 * that deleting a long backlog never holds the database for long. Kept apart from the writes, which only
 * add rows, and from the queries (history-queries.ts), which only read them.
 */
import type { Db } from "./database"
import { MINUTE } from "./history-queries"

const PRUNED_TABLES = [
    { table: "readings", column: "t" },
    { table: "readings_by_minute", column: "m" },
    { table: "commands", column: "t" },
]

export interface PruneLimits {
    /** Rows one DELETE removes (see HISTORY_DEFAULTS in history.ts, read at each prune). */
    pruneChunkRows: number
}

export class HistoryRetention {
    private readonly sql

    /** `limits` is read at each prune, not copied. */
    constructor(
        db: Db,
        private readonly limits: Readonly<PruneLimits>
    ) {
        this.sql = {
            allDevices: db.prepare<[], number>("SELECT id FROM devices ORDER BY id").pluck(),
            prune: PRUNED_TABLES.map(({ table, column }) =>
                // Deletes the oldest `chunk` rows below the cutoff (all of them when fewer remain).
                db.prepare(
                    `DELETE FROM ${table} WHERE device = @device AND ${column} < @cutoff AND ${column} <= coalesce(
                     (SELECT ${column} FROM ${table} WHERE device = @device AND ${column} < @cutoff
                      ORDER BY ${column} LIMIT 1 OFFSET CAST(@chunk AS INTEGER) - 1), @cutoff)`
                )
            ),
        }
    }

    /**
     * Deletes readings and commands with t < cutoff (ms), at most pruneChunkRows per statement, and at
     * most `maxRows` in this call. Returns the rows deleted: less than maxRows means nothing old is left.
     */
    prune(cutoff: number, maxRows: number): number {
        const chunk = this.limits.pruneChunkRows
        let deleted = 0
        for (const device of this.sql.allDevices.all()) {
            for (const [i, statement] of this.sql.prune.entries()) {
                const rollup = i === 1 // not counted: it only summarises readings
                // A minute's rollup goes once the whole minute is older than the cutoff.
                const params = { device, cutoff: rollup ? cutoff - MINUTE + 1 : cutoff, chunk }
                for (;;) {
                    params.chunk = rollup ? chunk : Math.min(chunk, maxRows - deleted)
                    if (params.chunk <= 0) return deleted
                    const n = statement.run(params).changes
                    if (!rollup) deleted += n
                    if (n < params.chunk) break
                }
            }
        }
        return deleted
    }
}
