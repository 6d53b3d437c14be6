/** Prunes the history a chunk per statement, each its own short transaction, so a backlog never holds the database. */
import type { Db } from "./database"
import { MINUTE } from "./history-queries"

const PRUNED_TABLES = [
    { table: "readings", column: "t" },
    { table: "readings_by_minute", column: "m" },
    { table: "commands", column: "t" },
]

export interface PruneLimits {
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
                db.prepare(
                    `DELETE FROM ${table} WHERE device = @device AND ${column} < @cutoff AND ${column} <= coalesce(
                     (SELECT ${column} FROM ${table} WHERE device = @device AND ${column} < @cutoff
                      ORDER BY ${column} LIMIT 1 OFFSET CAST(@chunk AS INTEGER) - 1), @cutoff)`
                )
            ),
        }
    }

    /** Returns the rows deleted: less than maxRows means nothing old is left. */
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
