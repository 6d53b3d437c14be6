/**
 * Each device's own threshold and band over time, so its chart of the past draws the band it was judged
 * by. The rule: a device has entries only while its threshold or band is not the fleet's (its own or its
 * group's value); an entry holds its effective threshold and band from `t` on, and an entry of NULLs
 * says it follows the fleet's again. At a time, the device's band is its entry in force, else the
 * fleet's (settings-log.ts). So a fleet change writes rows only for devices with a partial override.
 * Bounded like the fleet's log: changes within mergeWithinMs replace each other, pruned with the history.
 */
import type { DeviceRuleChange, RuleSettings } from "../http/api-types"
import type { Db } from "./database"
import { SETTINGS_LOG_DEFAULTS } from "./settings-log"

interface Row {
    t: number
    threshold: number | null
    band: number | null
}

export class DeviceRuleLog {
    private readonly sql

    constructor(private readonly db: Db) {
        const columns = "t, threshold, band FROM device_rule_changes WHERE device = ?"
        this.sql = {
            last: db.prepare<[string], Row>(`SELECT ${columns} ORDER BY t DESC LIMIT 1`),
            put: db.prepare(
                "INSERT OR REPLACE INTO device_rule_changes (device, t, threshold, band) VALUES (?, ?, ?, ?)"
            ),
            remove: db.prepare<[string, number]>("DELETE FROM device_rule_changes WHERE device = ? AND t = ?"),
            inForceAt: db.prepare<[string, number], Row>(`SELECT ${columns} AND t <= ? ORDER BY t DESC LIMIT 1`),
            after: db.prepare<[string, number, number, number], Row>(
                `SELECT ${columns} AND t > ? AND t <= ? ORDER BY t LIMIT ?`
            ),
            // each device's newest entry, when it is a rule of its own
            own: db.prepare<[], Row & { device: string }>(
                `SELECT device, t, threshold, band FROM device_rule_changes AS c
                 WHERE t = (SELECT max(t) FROM device_rule_changes WHERE device = c.device) AND threshold IS NOT NULL`
            ),
            // before the cutoff: all but each device's entry in force at it, and that one too when it says
            // "the fleet's" (no entry means the same)
            prune: db.prepare<[number, number]>(
                `DELETE FROM device_rule_changes AS c WHERE t < ? AND (threshold IS NULL OR
                 t < (SELECT max(t) FROM device_rule_changes WHERE device = c.device AND t <= ?))`
            ),
        }
    }

    /** Each change from `t` (ms) on, in one transaction; a device's rule already in force adds nothing. */
    record(t: number, changes: readonly { deviceId: string; rule: RuleSettings | null }[]): void {
        if (!Number.isSafeInteger(t)) throw new RangeError(`device rule change: t must be integer ms, got ${t}`)
        if (changes.length === 0) return
        this.db.transaction(() => {
            for (const { deviceId, rule } of changes) this.recordOne(t, deviceId, rule)
        })()
    }

    /** Oldest first, starting with the entry in force at `from`. */
    between(deviceId: string, from: number, to: number): DeviceRuleChange[] {
        if (!(from <= to)) return []
        const first = this.sql.inForceAt.get(deviceId, from)
        const limit = SETTINGS_LOG_DEFAULTS.maxChangesPerQuery - (first ? 1 : 0)
        const rows = this.sql.after.all(deviceId, from, to, limit)
        return (first ? [first, ...rows] : rows).map(r => ({ t: r.t, rule: ruleOf(r) }))
    }

    /** The devices whose newest entry is a rule of their own, with it (what the server last recorded). */
    inForce(): Map<string, RuleSettings> {
        return new Map(this.sql.own.all().map(r => [r.device, ruleOf(r)!]))
    }

    /** Deletes entries before `cutoff` except each device's own rule still in force at it; returns how many. */
    prune(cutoff: number): number {
        return this.sql.prune.run(cutoff, cutoff).changes
    }

    private recordOne(t: number, deviceId: string, rule: RuleSettings | null): void {
        const last = this.sql.last.get(deviceId)
        if (same(last ? ruleOf(last) : null, rule)) return
        if (last && t - last.t < SETTINGS_LOG_DEFAULTS.mergeWithinMs && t >= last.t) {
            this.sql.remove.run(deviceId, last.t)
            // merged back into the entry before it (or none: the fleet's): that one is in force again
            const before = this.sql.last.get(deviceId)
            if (same(before ? ruleOf(before) : null, rule)) return
        }
        this.sql.put.run(deviceId, t, rule?.threshold ?? null, rule?.band ?? null)
    }
}

function ruleOf(row: Row): RuleSettings | null {
    return row.threshold === null || row.band === null ? null : { threshold: row.threshold, band: row.band }
}

function same(a: RuleSettings | null, b: RuleSettings | null): boolean {
    return a === b || (a !== null && b !== null && a.threshold === b.threshold && a.band === b.band)
}
