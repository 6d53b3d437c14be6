/** The device registry and the Store around it: real SQLite files in a temp dir, reopened as after a restart. */
import Database from "better-sqlite3"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, test, vi } from "vitest"
import { APPLICATION_ID, SCHEMA_VERSION, StoreError, openDatabase } from "../../../server/store/database"
import { STORE_DEFAULTS, Store } from "../../../server/store/index"

const T0 = Date.UTC(2025, 0, 1)
const HOUR = 3_600_000

let dir: string
let file: string
const stores: Store[] = []
beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-registry-"))
    file = join(dir, "data", "nightlight.db") // in a directory that does not exist yet
})
afterEach(() => {
    for (const store of stores.splice(0)) store.close()
    rmSync(dir, { recursive: true, force: true })
})

function openStore(options: ConstructorParameters<typeof Store>[1] = {}): Store {
    const store = new Store(file, { pruneEveryMs: 0, ...options })
    store.open()
    stores.push(store)
    return store
}

test("a device is created on first sight; later news moves lastSeen, never firstSeen", () => {
    const { registry } = openStore()
    registry.update("kitchen", T0, { light: 250, lightAt: T0, reportedLed: true, local: false })
    const first = registry.get("kitchen")!
    expect(first).toEqual({
        id: "kitchen",
        firstSeen: T0,
        lastSeen: T0,
        online: null,
        light: 250,
        lightAt: T0,
        ledOn: null,
        reportedLed: true,
        local: false,
        lastCommand: null,
        link: null,
    })
    registry.update("kitchen", T0 + 5000, { online: true, light: undefined })
    // a command sent to the device is news about it, not from it
    registry.update(
        "kitchen",
        T0 + 9000,
        { ledOn: true, lastCommand: { ledOn: true, at: T0 + 9000, reason: "dark" } },
        { seen: false }
    )
    expect(registry.get("kitchen")).toMatchObject({
        firstSeen: T0,
        lastSeen: T0 + 5000,
        online: true,
        light: 250,
        ledOn: true,
        lastCommand: { ledOn: true, at: T0 + 9000, reason: "dark" },
    })
    expect(first.lastSeen).toBe(T0) // records handed out do not change afterwards
    expect(registry.get("hall")).toBeUndefined()
})

test("the registry survives a restart: every device with everything it knew", () => {
    const before = openStore()
    before.registry.update("kitchen", T0, {
        online: true,
        light: 250.5,
        lightAt: T0,
        ledOn: true,
        reportedLed: true,
        local: false,
    })
    before.registry.update("kitchen", T0 + HOUR, {
        lastCommand: { ledOn: true, at: T0 + 10, reason: "light 250 < 300" },
    })
    before.registry.update("hall", T0 + 2 * HOUR, { online: false, local: true })
    const expected = before.registry.list()
    before.close()

    const after = openStore()
    expect(after.registry.list()).toEqual(expected)
    expect(after.registry.get("kitchen")).toMatchObject({ firstSeen: T0, lastSeen: T0 + HOUR, light: 250.5 })
})

test("Store.flush() writes readings and devices in one transaction: both or neither", () => {
    const store = openStore()
    store.history.addReading("kitchen", T0, 250, true)
    store.registry.update("kitchen", T0, { light: 250, lightAt: T0 })
    const db = new Database(file) // a second connection, as a backup tool or the sqlite3 shell would be
    db.exec(`CREATE TRIGGER broken BEFORE UPDATE ON devices BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`)
    expect(() => store.flush()).toThrow(StoreError)
    expect(() => store.flush()).toThrow(/disk on fire/)
    expect(db.prepare("SELECT count(*) FROM readings").pluck().get()).toBe(0)

    db.exec("DROP TRIGGER broken")
    db.close()
    expect(store.flush()).toBe(2)
    expect(store.flush()).toBe(0)
    store.close()
    const after = openStore()
    expect(after.registry.get("kitchen")?.light).toBe(250)
    expect(after.history.readings("kitchen", T0, T0, 10).readings).toEqual([{ t: T0, light: 250, led: true }])
})

test("close() flushes what is buffered; a device only the history knows is not in the registry", () => {
    const store = openStore()
    store.registry.update("kitchen", T0, { light: 250 })
    store.history.addReading("kitchen", T0, 250, null)
    store.history.addReading("ghost", T0, 10, null)
    store.close()
    store.close() // twice is fine

    const after = openStore()
    expect(after.registry.list().map(d => d.id)).toEqual(["kitchen"])
    expect(after.history.readings("ghost", T0, T0, 10).readings).toHaveLength(1)
    expect(() => store.registry).toThrow(/open\(\) it first/)
})

test("old history is pruned in the background soon after open, and the server is told about failures", async () => {
    const first = openStore()
    first.history.addReading("kitchen", T0, 100, null)
    first.history.addReading("kitchen", T0 + 2 * HOUR, 200, null)
    first.close()

    const errors: Error[] = []
    const store = openStore({
        retentionMs: HOUR,
        now: () => T0 + 2 * HOUR,
        pruneEveryMs: HOUR,
        onError: e => errors.push(e),
    })
    for (let i = 0; i < 10 && store.history.readings("kitchen", T0, T0, 10).readings.length > 0; i++)
        await new Promise(resolve => setImmediate(resolve))
    expect(store.history.readings("kitchen", T0, T0 + 2 * HOUR, 10).readings.map(r => r.light)).toEqual([200])
    expect(errors).toEqual([])
})

test("pruning waits while the WAL is reset, so its deletes never stop the server, then goes on", async () => {
    const first = openStore()
    first.history.addReading("kitchen", T0, 100, null)
    first.history.addReading("kitchen", T0 + 2 * HOUR, 200, null)
    first.close()
    const kept = (store: Store) => store.history.readings("kitchen", T0, T0 + 2 * HOUR, 10).readings.map(r => r.light)

    const resetting = vi.spyOn(Store.prototype, "writesWait", "get").mockReturnValue(true)
    try {
        const store = openStore({ retentionMs: HOUR, now: () => T0 + 2 * HOUR, pruneEveryMs: HOUR })
        await new Promise(resolve => setTimeout(resolve, 4 * STORE_DEFAULTS.pruneWaitMs))
        expect(kept(store)).toEqual([100, 200])
        resetting.mockReturnValue(false)
        for (let i = 0; i < 100 && kept(store).length > 1; i++)
            await new Promise(resolve => setTimeout(resolve, STORE_DEFAULTS.pruneWaitMs))
        expect(kept(store)).toEqual([200])
    } finally {
        resetting.mockRestore()
    }
})

test("a file that is not a nightlight database is refused with its path named", () => {
    mkdirSync(join(dir, "data"), { recursive: true })
    writeFileSync(file, "this is a text file, not a database ".repeat(200))
    expect(() => openDatabase(file)).toThrow(StoreError)
    expect(() => openDatabase(file)).toThrow(new RegExp(`${file}.*not a database`))

    const other = join(dir, "other.db")
    const foreign = new Database(other)
    foreign.exec("CREATE TABLE notes (text TEXT)")
    foreign.close()
    expect(() => openDatabase(other)).toThrow(new RegExp(`${other} is an SQLite database of another program`))

    const newer = join(dir, "newer.db")
    openDatabase(newer).close()
    const future = new Database(newer)
    future.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    future.close()
    expect(() => openDatabase(newer)).toThrow(new RegExp(`${newer} was written by a newer nightlight server`))

    expect(() => openDatabase(dir)).toThrow(new RegExp(`cannot open database ${dir}`))
    const underAFile = join(file, "nightlight.db")
    expect(() => openDatabase(underAFile)).toThrow(new RegExp(`cannot create the directory of database ${underAFile}`))
})

test("a new database is marked as ours and at the current schema version", () => {
    const db = openDatabase(file)
    expect(db.pragma("application_id", { simple: true })).toBe(APPLICATION_ID)
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION)
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal")
    db.close()
    openDatabase(file).close() // and opens again
})

test("where a device's link stood (boot, readings stored, clock) survives a restart", () => {
    const store = openStore()
    store.registry.update("kitchen", T0, { link: { boot: "b1", acked: 42, clockOffset: T0 - 90_000 } })
    store.registry.update("lesson", T0, { light: 100 })
    store.close()
    const again = openStore()
    expect(again.registry.get("kitchen")?.link).toEqual({ boot: "b1", acked: 42, clockOffset: T0 - 90_000 })
    expect(again.registry.get("lesson")?.link).toBeNull()
})

test("what commit() stored for an ack survives a crash: the next open puts the readings and links in place", () => {
    const crashed = openStore()
    crashed.registry.update("kitchen", T0, { light: 250, lightAt: T0 })
    crashed.history.addReading("kitchen", T0, 250, true)
    crashed.history.addCommand("kitchen", T0 + 10, true, "first", 17)
    crashed.registry.update("kitchen", T0 + 500, { link: { boot: "b1", acked: 7, clockOffset: 42 } }, { seen: false })
    expect(crashed.commit()).toBe(3) // a reading, a command, a link
    expect(crashed.commit()).toBe(0) // nothing new

    // A second connection while the first is still open: the first never flushes (killed).
    const after = openStore()
    expect(after.registry.get("kitchen")).toMatchObject({
        firstSeen: T0,
        lastSeen: T0,
        link: { boot: "b1", acked: 7, clockOffset: 42 },
        light: null, // the rest of the row waited for a flush that never came
    })
    expect(after.history.readings("kitchen", T0, T0 + HOUR, 10).readings).toEqual([{ t: T0, light: 250, led: true }])
    expect(after.history.readings("kitchen", T0, T0 + 2 * 24 * HOUR, 1).readings).toMatchObject([{ light: 250 }])
    expect(after.history.commands("kitchen", T0, T0 + HOUR)).toEqual([{ t: T0 + 10, ledOn: true, reason: "first" }])
    const staged = new Database(file)
    expect(staged.prepare("SELECT count(*) FROM staged_readings").pluck().get()).toBe(0)
    expect(staged.prepare("SELECT count(*) FROM staged_links").pluck().get()).toBe(0)
    staged.close()
})

test("a link committed after a flush wins over the row written by it; flush() empties the staging tables", () => {
    const store = openStore()
    store.registry.update("kitchen", T0, { light: 250, lightAt: T0, link: { boot: "b1", acked: 3, clockOffset: 1 } })
    store.history.addReading("kitchen", T0, 250, null)
    store.flush()
    for (const acked of [5, 7]) {
        store.history.addReading("kitchen", T0 + acked * 1000, 300 + acked, null)
        store.registry.update("kitchen", T0 + acked * 1000, { link: { boot: "b1", acked, clockOffset: 1 } })
        store.commit()
    }
    const db = new Database(file)
    const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get()
    expect([count("staged_readings"), count("staged_links"), count("readings")]).toEqual([2, 2, 1])

    const after = openStore() // as after a crash
    expect(after.registry.get("kitchen")).toMatchObject({
        lastSeen: T0 + 7000,
        light: 250,
        link: { boot: "b1", acked: 7, clockOffset: 1 },
    })
    expect(after.history.readings("kitchen", T0, T0 + HOUR, 10).readings.map(r => r.light)).toEqual([250, 305, 307])

    store.history.addReading("kitchen", T0 + 9000, 309, null)
    store.commit()
    expect(store.flush()).toBe(1) // the device row; the reading was counted by commit()
    expect([count("staged_readings"), count("staged_links"), count("readings")]).toEqual([0, 0, 4])
    db.close()
})

test("flushSome(count) writes count parts at once, round the end to the start; a round's staged links go at its end", () => {
    const store = openStore()
    const parts = STORE_DEFAULTS.registryParts
    const devices = 3 * parts
    for (let i = 0; i < devices; i++)
        store.registry.update(`d${i}`, T0 + i, { light: 100, link: { boot: "b", acked: 1, clockOffset: null } })
    store.history.addReading("d0", T0, 100, null)
    store.commit()
    const db = new Database(file)
    const count = (sql: string) => db.prepare(sql).pluck().get()
    const rowsWritten = () => count("SELECT count(*) FROM devices WHERE first_seen IS NOT NULL")
    store.flushSome(parts - 1) // parts 0 .. parts - 2: the round is not over
    expect(rowsWritten()).toBe(devices - 3)
    expect(count("SELECT count(*) FROM staged_links")).toBe(devices)
    store.flushSome(2) // the last part, then part 0 again: the round that ended takes its staged links along
    expect(rowsWritten()).toBe(devices)
    expect(count("SELECT count(*) FROM staged_links")).toBe(0)
    expect(openStore().registry.get(`d${devices - 1}`)?.link?.acked).toBe(1) // as after a crash now
    db.close()
})

test("flushSome() stores the history at once and the device rows a part at a time, each part in turn", () => {
    const store = openStore()
    const parts = STORE_DEFAULTS.registryParts
    const devices = 3 * parts
    const ids = Array.from({ length: devices }, (_, i) => `d${i}`)
    for (const [i, id] of ids.entries()) {
        store.history.addReading(id, T0 + i, 100 + i, null)
        store.registry.update(id, T0 + i, { light: 100 + i, link: { boot: "b", acked: 1, clockOffset: null } })
    }
    store.commit()
    const db = new Database(file)
    const count = (sql: string) => db.prepare(sql).pluck().get()
    const rowsWritten = () => count("SELECT count(*) FROM devices WHERE first_seen IS NOT NULL")
    store.flushSome()
    expect(count("SELECT count(*) FROM readings")).toBe(devices)
    expect(rowsWritten()).toBe(3)
    store.registry.update("d0", T0 + 100, { link: { boot: "b", acked: 2, clockOffset: null } })
    for (let i = 1; i < parts; i++) {
        expect(count("SELECT count(*) FROM staged_links")).toBeGreaterThanOrEqual(devices) // until the round ends
        store.flushSome()
    }
    expect(rowsWritten()).toBe(devices)
    // d0's new link was staged with the next part (its row was written before it): it stays staged
    expect(count("SELECT acked FROM staged_links")).toBe(2)
    expect(openStore().registry.get("d0")?.link?.acked).toBe(2) // as after a crash now
    db.close()
})

test("after a backlog flushSome() merges a slice of the staged readings per call, oldest first, with their rollup", () => {
    const store = openStore()
    const slice = STORE_DEFAULTS.mergeSliceRows
    const total = 2 * slice + 10
    // one device at a time, as acks stage them: several seconds' readings not merged yet
    for (let i = 0; i < total; i++) store.history.addReading(`d${i % 7}`, T0 + i * 1000, i, null)
    store.commit()
    const db = new Database(file)
    const count = (sql: string) => db.prepare(sql).pluck().get()
    expect(store.waitingRows()).toBe(total)
    store.flushSome()
    expect(count("SELECT count(*) FROM readings")).toBe(slice)
    expect(count("SELECT max(t) FROM readings")).toBe(T0 + (slice - 1) * 1000) // the oldest went first
    expect(store.waitingRows()).toBe(total - slice) // so the recorder's next look flushes again
    store.flushSome()
    store.flushSome()
    expect([count("SELECT count(*) FROM readings"), count("SELECT count(*) FROM staged_readings")]).toEqual([total, 0])
    expect(count("SELECT sum(n) FROM readings_by_minute")).toBe(total) // each reading rolled up once
    expect(store.history.readings("d3", T0, T0 + total * 1000, total).readings).toHaveLength(Math.ceil((total - 3) / 7))
    db.close()
})

test("flush() still merges every staged reading at once", () => {
    const store = openStore()
    const total = STORE_DEFAULTS.mergeSliceRows + 5
    for (let i = 0; i < total; i++) store.history.addReading("d", T0 + i, i, null)
    store.commit()
    store.flush()
    expect(store.waitingRows()).toBe(0)
    expect(store.history.readings("d", T0, T0 + total, total).readings).toHaveLength(total)
})
