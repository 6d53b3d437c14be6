/**
 * Threshold and band changes, so a chart of the past draws the band as it was. Bounded: changes within
 * mergeWithinMs replace each other, and old rows are pruned with the history.
 */
import type { RuleChange, RuleSettings } from "../http/api-types"
import type { Db } from "./database"

export const SETTINGS_LOG_DEFAULTS = {
    /** A change within this of the last one (ms) replaces it instead of adding a row (read at each record). */
    mergeWithinMs: 1000,
    /** Most changes one query returns (the newest ones in the range are left off beyond it). */
    maxChangesPerQuery: 10_000,
}

export class SettingsLog {
    private readonly sql

    constructor(db: Db) {
        this.sql = {
            last: db.prepare<[], RuleChange>("SELECT t, threshold, band FROM settings_changes ORDER BY t DESC LIMIT 1"),
            put: db.prepare("INSERT OR REPLACE INTO settings_changes (t, threshold, band) VALUES (?, ?, ?)"),
            remove: db.prepare<[number]>("DELETE FROM settings_changes WHERE t = ?"),
            inForceAt: db.prepare<[number], RuleChange>(
                "SELECT t, threshold, band FROM settings_changes WHERE t <= ? ORDER BY t DESC LIMIT 1"
            ),
            after: db.prepare<[number, number, number], RuleChange>(
                "SELECT t, threshold, band FROM settings_changes WHERE t > ? AND t <= ? ORDER BY t LIMIT ?"
            ),
            prune: db.prepare<[number, number]>(
                "DELETE FROM settings_changes WHERE t < ? AND t < (SELECT max(t) FROM settings_changes WHERE t <= ?)"
            ),
        }
    }

    /** The rule in force from `t` (ms) on; nothing when it is the one in force already. */
    record(t: number, rule: RuleSettings): void {
        if (!Number.isSafeInteger(t)) throw new RangeError(`settings change: t must be integer ms, got ${t}`)
        const last = this.sql.last.get()
        if (last && last.threshold === rule.threshold && last.band === rule.band) return
        if (last && t - last.t < SETTINGS_LOG_DEFAULTS.mergeWithinMs && t >= last.t) {
            this.sql.remove.run(last.t)
            // merged back into the rule before it: that one is in force again, not changed
            const before = this.sql.last.get()
            if (before && before.threshold === rule.threshold && before.band === rule.band) return
        }
        this.sql.put.run(t, rule.threshold, rule.band)
    }

    /** Oldest first, starting with the one in force at `from`. */
    between(from: number, to: number): RuleChange[] {
        if (!(from <= to)) return []
        const first = this.sql.inForceAt.get(from)
        const limit = SETTINGS_LOG_DEFAULTS.maxChangesPerQuery - (first ? 1 : 0)
        const changes = this.sql.after.all(from, to, limit)
        return first ? [first, ...changes] : changes
    }

    /** Deletes changes before `cutoff` except the one still in force at it; returns how many. */
    prune(cutoff: number): number {
        return this.sql.prune.run(cutoff, cutoff).changes
    }
}
