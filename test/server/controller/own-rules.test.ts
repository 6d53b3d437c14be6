/**
 * Each device's own threshold and band, as DeviceConfigs tells it into the real log (SQLite in a temp
 * folder): fleet, group and device changes, partial overrides, and a start after the groups file
 * moved a member. What a chart draws for a device at a time: its entry in force, else the fleet's. The
 * config is saved in the same database, so a start reads back what the one before saved.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, test } from "vitest"
import { DeviceConfigs, type DeviceConfigStore } from "../../../server/controller/device-config"
import type { RuleSettings } from "../../../server/http/api-types"
import type { MessageBus } from "../../../server/mqtt/message-bus"
import { DEFAULT_DEVICE_CONFIG } from "../../../server/protocol/contract"
import { openDatabase, type Db } from "../../../server/store/database"
import { DeviceConfigRows } from "../../../server/store/device-config-rows"
import { DeviceRuleLog } from "../../../server/store/device-rule-log"
import { SavedSettings } from "../../../server/store/saved-settings"
import { realTimers } from "../../../server/util/clock"
import { recordingLogger } from "../../helpers/mqtt"

const T0 = 1_764_950_000_000
/** Each step of a test 10 s after the one before: no merging. */
let now = T0
let dir: string
let db: Db
let log: DeviceRuleLog
let rows: DeviceConfigRows

const bus: MessageBus = {
    start: async () => {},
    stop: async () => {},
    subscribe: async () => {},
    publish: async () => {},
}

/** porch and hall in group "stairs" (or as given); attic alone. */
function membership(stairs: string[]) {
    return {
        groupOf: (id: string) => (stairs.includes(id) ? "stairs" : undefined),
        members: (name: string) => (name === "stairs" ? stairs : []),
    }
}

function start(stairs = ["porch", "hall"]): DeviceConfigs {
    const store: DeviceConfigStore = { load: () => rows.load(), save: changes => rows.save(changes) }
    const configs = new DeviceConfigs({
        bus,
        log: recordingLogger("silent").logger,
        timers: { ...realTimers, now: () => now },
        values: DEFAULT_DEVICE_CONFIG,
        store,
        groups: membership(stairs),
        counters: { configsSent: 0, configsFailed: 0 },
        ownRules: { saved: log.inForce(), changed: changes => log.record(now, changes) },
    })
    configs.remember(["porch", "hall", "attic"])
    return configs
}

/** The rule each device's chart draws at `t`: its own entry in force, else the fleet's (given). */
function bandAt(deviceId: string, t: number, fleet: RuleSettings): RuleSettings {
    return log.between(deviceId, t, t).at(-1)?.rule ?? fleet
}

const step = () => (now += 10_000)
const fleet = (threshold: number): RuleSettings => ({ threshold, band: DEFAULT_DEVICE_CONFIG.band })

beforeEach(() => {
    now = T0
    dir = mkdtempSync(join(tmpdir(), "nightlight-own-rules-"))
    db = openDatabase(join(dir, "nightlight.db"))
    log = new DeviceRuleLog(db)
    rows = new DeviceConfigRows(db, new SavedSettings(db))
})
afterEach(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
})

test("a device's own threshold: its entries while it has one, the fleet's changes write nothing", () => {
    const configs = start()
    expect(log.inForce().size).toBe(0)
    const set = step()
    configs.setDeviceOverride("attic", { threshold: 600 })
    expect(bandAt("attic", set, fleet(300))).toEqual({ threshold: 600, band: 100 })
    // a full override of threshold and band: the fleet's change moves neither it nor the others
    step()
    configs.setDeviceOverride("attic", { threshold: 600, band: 80 })
    const rows = () => db.prepare("SELECT count(*) FROM device_rule_changes").pluck().get()
    const before = rows()
    step()
    configs.change({ ...DEFAULT_DEVICE_CONFIG, threshold: 250 })
    expect(rows()).toBe(before)
    expect(log.between("porch", T0, now)).toEqual([])
    const cleared = step()
    configs.setDeviceOverride("attic", undefined)
    expect(log.between("attic", T0, now).map(e => e.rule)).toEqual([
        { threshold: 600, band: 100 },
        { threshold: 600, band: 80 },
        null,
    ])
    expect(bandAt("attic", cleared, fleet(250))).toEqual(fleet(250))
    // a value of its own other than the rule's is no rule of its own
    step()
    configs.setDeviceOverride("attic", { reportMs: 1000 })
    expect(log.between("attic", cleared, now)).toEqual([{ t: cleared, rule: null }])
})

test("a partial override follows the fleet's other value: the fleet's change writes a row for it alone", () => {
    const configs = start()
    step()
    configs.setDeviceOverride("attic", { threshold: 600 })
    const changed = step()
    configs.change({ ...DEFAULT_DEVICE_CONFIG, band: 40 })
    expect(log.between("attic", changed, changed)).toEqual([{ t: changed, rule: { threshold: 600, band: 40 } }])
    expect(log.between("hall", T0, now)).toEqual([])
    // the same value as the fleet's is still its own: when the fleet's moves, it stays
    step()
    configs.setDeviceOverride("attic", { threshold: 300 })
    step()
    configs.change({ ...DEFAULT_DEVICE_CONFIG, threshold: 500, band: 40 })
    expect(log.inForce().get("attic")).toEqual({ threshold: 300, band: 40 })
})

test("a group's values are its members' own, and a member's own value wins over them", () => {
    const configs = start()
    configs.setDeviceOverride("porch", { band: 10 })
    const set = step()
    configs.setGroupOverride("stairs", { threshold: 700 })
    expect(bandAt("hall", set, fleet(300))).toEqual({ threshold: 700, band: 100 })
    expect(bandAt("porch", set, fleet(300))).toEqual({ threshold: 700, band: 10 })
    expect(log.between("attic", T0, now)).toEqual([])
    const cleared = step()
    configs.setGroupOverride("stairs", undefined)
    expect(log.between("hall", cleared, cleared)).toEqual([{ t: cleared, rule: null }])
    expect(bandAt("porch", cleared, fleet(300))).toEqual({ threshold: 300, band: 10 })
})

test("a start after the groups file moved a member: the moved ones' rules change then", () => {
    const configs = start(["porch", "hall"])
    configs.setGroupOverride("stairs", { threshold: 700 })
    expect([...log.inForce().keys()].sort()).toEqual(["hall", "porch"])

    // hall left the group and attic joined it while the server was down
    const restarted = step()
    start(["porch", "attic"])
    expect(log.between("hall", restarted, restarted)).toEqual([{ t: restarted, rule: null }])
    expect(log.between("attic", restarted, restarted)).toEqual([{ t: restarted, rule: { threshold: 700, band: 100 } }])
    expect(log.between("porch", restarted, restarted)).toEqual([{ t: T0, rule: { threshold: 700, band: 100 } }])
})
