/**
 * Each device's own threshold and band over time (a real SQLite file): entries only while a device's
 * rule is its own, "the fleet's again" as a marker, bursts merged, old entries pruned.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, test } from "vitest"
import { openDatabase, type Db } from "../../../server/store/database"
import { DeviceRuleLog } from "../../../server/store/device-rule-log"
import { SETTINGS_LOG_DEFAULTS } from "../../../server/store/settings-log"

let dir: string
let db: Db
let log: DeviceRuleLog
const T0 = 1_700_000_000_000
const rows = () => db.prepare("SELECT count(*) FROM device_rule_changes").pluck().get() as number

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-device-rule-log-"))
    db = openDatabase(join(dir, "nightlight.db"))
    log = new DeviceRuleLog(db)
})
afterEach(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
})

test("a device's own rule from each change on, then the fleet's again; other devices keep none", () => {
    log.record(T0, [{ deviceId: "hall", rule: null }])
    expect(rows()).toBe(0) // following the fleet from the start is no entry
    log.record(T0 + 10_000, [{ deviceId: "hall", rule: { threshold: 600, band: 100 } }])
    log.record(T0 + 20_000, [{ deviceId: "hall", rule: { threshold: 600, band: 50 } }])
    log.record(T0 + 30_000, [{ deviceId: "hall", rule: null }])
    expect(log.between("hall", T0, T0 + 60_000)).toEqual([
        { t: T0 + 10_000, rule: { threshold: 600, band: 100 } },
        { t: T0 + 20_000, rule: { threshold: 600, band: 50 } },
        { t: T0 + 30_000, rule: null },
    ])
    // the range starts with the entry in force at its start
    expect(log.between("hall", T0 + 25_000, T0 + 26_000)).toEqual([
        { t: T0 + 20_000, rule: { threshold: 600, band: 50 } },
    ])
    expect(log.between("porch", T0, T0 + 60_000)).toEqual([])
    // the same rule again adds nothing
    log.record(T0 + 40_000, [{ deviceId: "hall", rule: null }])
    expect(rows()).toBe(3)
})

test("what the server last recorded: the devices whose newest entry is a rule of their own", () => {
    log.record(T0, [
        { deviceId: "hall", rule: { threshold: 600, band: 100 } },
        { deviceId: "porch", rule: { threshold: 200, band: 100 } },
    ])
    log.record(T0 + 10_000, [{ deviceId: "porch", rule: null }])
    expect(log.inForce()).toEqual(new Map([["hall", { threshold: 600, band: 100 }]]))
})

test("changes within a second replace each other; one undone within it leaves what was before", () => {
    // a script that PATCHes a device 500 times, 10 ms apart: one row for the burst
    for (let i = 1; i <= 500; i++)
        log.record(T0 + i * 10, [{ deviceId: "hall", rule: { threshold: 300 + i, band: 100 } }])
    expect(log.between("hall", 0, T0 + 20_000)).toEqual([{ t: T0 + 5000, rule: { threshold: 800, band: 100 } }])
    expect(rows()).toBe(1)
    // an override set and cleared within the second: nothing was ever its own
    log.record(T0 + 30_000, [{ deviceId: "porch", rule: { threshold: 650, band: 100 } }])
    log.record(T0 + 30_000 + SETTINGS_LOG_DEFAULTS.mergeWithinMs - 1, [{ deviceId: "porch", rule: null }])
    expect(log.between("porch", 0, T0 + 60_000)).toEqual([])
    // hall back to the fleet's and at once to 800 again: still the one entry
    log.record(T0 + 40_000, [{ deviceId: "hall", rule: null }])
    log.record(T0 + 40_500, [{ deviceId: "hall", rule: { threshold: 800, band: 100 } }])
    expect(rows()).toBe(1)
})

test("pruning keeps each device's own rule still in force at the cutoff, not a 'fleet's again' marker", () => {
    const rule = (threshold: number) => ({ threshold, band: 50 })
    log.record(1000, [
        { deviceId: "hall", rule: rule(100) },
        { deviceId: "porch", rule: rule(400) },
    ])
    log.record(5000, [
        { deviceId: "hall", rule: rule(200) },
        { deviceId: "porch", rule: null },
    ])
    log.record(9000, [
        { deviceId: "hall", rule: rule(300) },
        { deviceId: "porch", rule: rule(500) },
    ])
    // hall: 1000 goes, 5000 is in force at the cutoff; porch: 1000 and its marker at 5000 go
    expect(log.prune(8000)).toBe(3)
    expect(log.between("hall", 8000, 10_000)).toEqual([
        { t: 5000, rule: rule(200) },
        { t: 9000, rule: rule(300) },
    ])
    expect(log.between("porch", 0, 10_000)).toEqual([{ t: 9000, rule: rule(500) }])
    expect(log.prune(8000)).toBe(0)
})
