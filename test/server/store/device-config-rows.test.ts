/**
 * The device config's overrides and versions saved a row each (server/store/device-config-rows.ts), read
 * back by DeviceConfigs as a restarted server does: a real SQLite file, reopened for every "start". What
 * the server before the rows saved (one JSON value in settings) is written here as it wrote it.
 */
import Database from "better-sqlite3"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { DeviceConfigs, type DeviceConfigChanges } from "../../../server/controller/device-config"
import type { MessageBus } from "../../../server/mqtt/message-bus"
import { DEFAULT_DEVICE_CONFIG } from "../../../server/protocol/contract"
import { DEVICE_CONFIG_KEY, DeviceConfigRows } from "../../../server/store/device-config-rows"
import { openDatabase, type Db } from "../../../server/store/database"
import { SavedSettings } from "../../../server/store/saved-settings"
import { realTimers, type Timers } from "../../../server/util/clock"
import { recordingLogger } from "../../helpers/mqtt"

const NOW = 1_764_950_000_000
const timers: Timers = { ...realTimers, now: () => NOW }
/** Never up: these tests are about what is saved, not sent. */
const bus: MessageBus = {
    start: async () => undefined,
    stop: async () => undefined,
    subscribe: async () => undefined,
    publish: () => Promise.reject(new Error("not up")),
}
/** porch and hall in group "stairs"; attic alone. */
const groups = {
    groupOf: (id: string) => (id === "porch" || id === "hall" ? "stairs" : undefined),
    members: (name: string) => (name === "stairs" ? ["porch", "hall"] : []),
}

let dir: string
let db: Db | undefined
beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-config-rows-"))
})
afterEach(() => {
    db?.close()
    db = undefined
    rmSync(dir, { recursive: true, force: true })
})

const file = () => join(dir, "nightlight.db")

/** A server start: a fresh connection to the same file, and DeviceConfigs loading from it. */
function start(values = DEFAULT_DEVICE_CONFIG) {
    db?.close()
    db = openDatabase(file())
    const settings = new SavedSettings(db, { now: () => NOW })
    const rows = new DeviceConfigRows(db, settings)
    const saves: DeviceConfigChanges[] = []
    const { logger, lines } = recordingLogger("warn")
    const configs = new DeviceConfigs({
        bus,
        log: logger,
        timers,
        values,
        store: {
            load: () => rows.load(),
            save: changes => {
                rows.save(changes)
                saves.push(changes)
            },
        },
        groups,
        counters: { configsSent: 0, configsFailed: 0 },
    })
    return { configs, settings, saves, lines }
}

/** Another connection to the file, as the sqlite3 shell would be: to hand-edit it. */
function byHand<T>(edit: (other: Database.Database) => T): T {
    const other = new Database(file())
    try {
        return edit(other)
    } finally {
        other.close()
    }
}

const rowCounts = () =>
    byHand(other =>
        ["device_config_devices", "device_config_groups", "device_config_versions"].map(
            table => other.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number
        )
    )

describe("a database saved by the server before the rows (one JSON value)", () => {
    /** Above the clock in seconds (NOW): the next version is the latest + 1. */
    const V = 1_765_000_000
    const old = {
        version: V,
        ...DEFAULT_DEVICE_CONFIG,
        latest: V + 3,
        versions: { porch: V + 3, hall: V + 2, attic: V + 1 },
        groups: { stairs: { minChange: 5 } },
        devices: { porch: { threshold: 450 }, attic: { reportMs: 1000, band: 40 } },
        members: { stairs: ["porch", "hall"] },
    }

    test("loads with everything intact, is then kept as rows, and a restart keeps it all", () => {
        start().settings.set(DEVICE_CONFIG_KEY, old) // as the server before the rows saved it
        const { configs, settings, saves } = start()
        const expected = {
            porch: { ...DEFAULT_DEVICE_CONFIG, version: V + 3, threshold: 450, minChange: 5 },
            hall: { ...DEFAULT_DEVICE_CONFIG, version: V + 2, minChange: 5 },
            attic: { ...DEFAULT_DEVICE_CONFIG, version: V + 1, reportMs: 1000, band: 40 },
        }
        for (const [id, config] of Object.entries(expected)) expect(configs.configFor(id)).toEqual(config)
        expect(configs.groupOverride("stairs")).toEqual({ minChange: 5 })
        expect(saves).toEqual([]) // nothing changed: moving into rows is the store's own
        expect(settings.get(DEVICE_CONFIG_KEY)).toEqual({ version: V, ...DEFAULT_DEVICE_CONFIG, latest: V + 3 })
        expect(rowCounts()).toEqual([2, 1, 3])

        const again = start()
        for (const [id, config] of Object.entries(expected)) expect(again.configs.configFor(id)).toEqual(config)
        // the next change takes a version above every one given
        again.configs.remember(["attic"])
        again.configs.setDeviceOverride("attic", undefined)
        expect(start().configs.configFor("attic")).toEqual({ ...DEFAULT_DEVICE_CONFIG, version: V + 4 })
        expect(rowCounts()).toEqual([1, 1, 3])
    })

    test("a group's members as they were are kept: a device that left it since gets a new version", () => {
        start().settings.set(DEVICE_CONFIG_KEY, { ...old, members: { stairs: ["porch", "hall", "attic"] } })
        const { configs, saves } = start()
        expect(configs.configFor("attic")).toMatchObject({ version: V + 4, reportMs: 1000, minChange: 20 })
        expect(saves.map(s => [...s.groups])).toEqual([
            [["stairs", { override: { minChange: 5 }, members: groups.members("stairs") }]],
        ])
        expect(start().saves).toEqual([])
    })
})

describe("hand-edited rows", () => {
    test("one that is not valid is left out with a warning, not a crash; the others load; the next save drops it", () => {
        const first = start()
        first.configs.remember(["porch", "hall", "attic"])
        first.configs.setDeviceOverride("porch", { threshold: 450 })
        first.configs.setDeviceOverride("hall", { band: 40 })
        first.configs.setGroupOverride("stairs", { minChange: 5 })
        const porch = first.configs.configFor("porch")
        byHand(other => {
            other.prepare("UPDATE device_config_devices SET override = 'not JSON' WHERE device = 'hall'").run()
            other.prepare("INSERT INTO device_config_devices VALUES ('attic', '{\"colour\":1}')").run()
            other.prepare("INSERT INTO device_config_versions VALUES ('attic', 'x')").run()
        })
        const { configs, lines } = start()
        expect(configs.configFor("porch")).toEqual(porch)
        expect(configs.deviceOverride("hall")).toEqual({})
        expect(configs.deviceOverride("attic")).toEqual({})
        expect(configs.sentVersion("attic")).toBe(configs.current().version)
        expect(lines.join("")).toContain("left out 3 saved device config entries that are not valid")
        expect(rowCounts()).toEqual([3, 1, 3])

        configs.remember(["porch"])
        configs.setDeviceOverride("porch", { threshold: 460 })
        expect(rowCounts()).toEqual([1, 1, 2])
        expect(start().lines).toEqual([])
    })
})

describe("a change writes its own rows", () => {
    test("a save that fails midway writes nothing (one transaction), and the next save writes it", () => {
        const first = start()
        first.configs.remember(["porch", "hall", "attic"])
        first.configs.setDeviceOverride("attic", { threshold: 450 })
        const attic = first.configs.configFor("attic")
        // the version row is written after the override row: the override must not stay alone
        byHand(other =>
            other.exec(`CREATE TRIGGER fail BEFORE UPDATE ON device_config_versions WHEN NEW.device = 'attic'
                        BEGIN SELECT RAISE(ABORT, 'disk full'); END`)
        )
        const { configs } = start()
        configs.remember(["porch", "hall", "attic"])
        expect(() => configs.setDeviceOverride("attic", { threshold: 460 })).toThrow(/disk full/)
        expect(start().configs.configFor("attic")).toEqual(attic)

        const retried = start()
        retried.configs.remember(["porch", "hall", "attic"])
        expect(() => retried.configs.setDeviceOverride("attic", { threshold: 460 })).toThrow(/disk full/)
        const wanted = retried.configs.configFor("attic")
        byHand(other => other.exec("DROP TRIGGER fail"))
        retried.configs.setDeviceOverride("porch", { band: 40 })
        const after = start()
        expect(after.configs.configFor("attic")).toEqual(wanted)
        expect(after.configs.configFor("porch")).toEqual(retried.configs.configFor("porch"))
    })

    test("10,000 overrides: each save writes a row or two, and a restart keeps them all", () => {
        const ids = Array.from({ length: 10_000 }, (_, i) => `d${i}`)
        const { configs, saves } = start()
        configs.remember(ids)
        const began = Date.now()
        for (const [i, id] of ids.entries()) configs.setDeviceOverride(id, { threshold: 400 + (i % 500) })
        expect(Date.now() - began).toBeLessThan(30_000)
        const written = (s: DeviceConfigChanges) => s.devices.size + s.groups.size + s.versions.size
        expect(Math.max(...saves.map(written))).toBe(2)

        const again = start()
        for (const [i, id] of ids.entries())
            expect(again.configs.configFor(id), `device ${i}`).toEqual(configs.configFor(id))
        again.configs.remember(ids)
        again.configs.setDeviceOverride("d1234", undefined)
        expect(again.saves.map(written)).toEqual([2])
        expect(start().configs.deviceOverride("d1234")).toEqual({})
        expect(rowCounts()).toEqual([9_999, 0, 10_000])
    })

    test("a fleet change that moves 10,000 devices back to the fleet's version deletes their rows", () => {
        const ids = Array.from({ length: 10_000 }, (_, i) => `d${i}`)
        const first = start()
        first.configs.remember(ids)
        for (const id of ids) first.configs.setDeviceOverride(id, { threshold: 450 })
        const { configs } = start()
        configs.remember(ids)
        configs.change({ ...DEFAULT_DEVICE_CONFIG, reportMs: 1000 })
        expect(rowCounts()).toEqual([10_000, 0, 0])
        const after = start({ ...DEFAULT_DEVICE_CONFIG, reportMs: 1000 })
        expect(after.configs.configFor("d77")).toEqual({ ...configs.current(), threshold: 450 })
    })
})
