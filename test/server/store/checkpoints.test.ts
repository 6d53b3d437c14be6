/**
 * WAL checkpoints in a worker thread (server/store/checkpoints.ts), on real SQLite files: the server's
 * thread never copies the WAL back itself, the WAL stays bounded under steady writes, a stopped server
 * leaves a database file that is whole on its own, and a worker that fails hands the job back.
 */
import Database from "better-sqlite3"
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, test } from "vitest"
import { Store, type StoreOptions } from "../../../server/store/index"

const T0 = Date.UTC(2025, 0, 1)
const PAGE = 4096

let dir: string
let file: string
const stores: Store[] = []
beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-checkpoints-"))
    file = join(dir, "nightlight.db")
})
afterEach(() => {
    for (const store of stores.splice(0)) store.close()
    rmSync(dir, { recursive: true, force: true })
})

function openStore(options: StoreOptions = {}): Store {
    const store = new Store(file, { pruneEveryMs: 0, ...options })
    store.open()
    stores.push(store)
    return store
}

let nextT = T0
/** Readings of `devices` devices, one each, stored as an ack would store them, then moved into place. */
function writeRound(store: Store, devices: number): void {
    const t = (nextT += 2000)
    for (let d = 0; d < devices; d++) store.history.addReading(`device-${d}`, t, (d * 7) % 1024, d % 2 === 0)
    store.commit()
    store.flush()
}

const walBytes = () => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0)
const until = async (what: string, check: () => boolean, ms = 5000) => {
    const end = Date.now() + ms
    while (!check()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
        await new Promise(resolve => setTimeout(resolve, 20))
    }
}

test("the server's thread does not checkpoint: the WAL keeps its frames until the worker copies them back", async () => {
    // The worker's timer is far away: only the checkpoint asked for here runs.
    const store = openStore({ checkpoints: { everyMs: 3_600_000 } })
    for (let round = 0; round < 20; round++) writeRound(store, 2000)
    // SQLite's own would have copied the WAL back at 1000 pages (and started it again from its beginning).
    const before = await store.checkpoint("PASSIVE")
    expect(before.log).toBeGreaterThan(1000)
    expect(before.checkpointed).toBe(before.log) // nothing wrote meanwhile: all of it copied
    // And what was copied back is in the database file: another connection reads it without the WAL's help.
    const copy = join(dir, "copy.db")
    copyFileSync(file, copy)
    const readings = new Database(copy, { readonly: true }).prepare("SELECT count(*) FROM readings").pluck().get()
    expect(readings).toBe(20 * 2000)
})

test("while the server runs, the worker's own timer copies the WAL into the database file", async () => {
    const store = openStore({ checkpoints: { everyMs: 50 } })
    for (let round = 0; round < 10; round++) writeRound(store, 2000)
    const inFile = () => {
        const copy = join(dir, "copy.db")
        copyFileSync(file, copy) // the .db file alone: what the WAL holds is not in it
        const db = new Database(copy, { readonly: true })
        try {
            const tables = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'readings'").pluck().get()
            return tables === 0 ? 0 : (db.prepare("SELECT count(*) FROM readings").pluck().get() as number)
        } catch (error) {
            // a copy taken while the worker writes pages into the file is torn: look again
            const code = (error as { code?: string }).code
            if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") return -1
            throw error
        } finally {
            db.close()
        }
    }
    await until("the readings in the database file", () => inFile() === 10 * 2000)
})

test("a stopped server leaves a database file that is whole without its WAL", async () => {
    const store = openStore({ checkpoints: { everyMs: 3_600_000 } })
    for (let round = 0; round < 2; round++) writeRound(store, 1000)
    await store.checkpoint() // the worker has its connection open: closing the server's is not the last close
    for (let round = 0; round < 3; round++) writeRound(store, 1000)
    store.history.addReading("last-one", nextT + 1, 42, false) // buffered only: close() writes it
    store.close()
    expect(walBytes()).toBe(0)
    const copy = join(dir, "backup.db")
    copyFileSync(file, copy) // what a user copies once the server stopped: the .db file alone
    const db = new Database(copy, { readonly: true })
    expect(db.prepare("SELECT count(*) FROM readings").pluck().get()).toBe(5 * 1000 + 1)
    db.close()
})

test("a checkpoint worker that cannot start hands checkpoints back to the server's connection, and says so", async () => {
    const errors: Error[] = []
    const broken = new URL("data:text/javascript,throw new Error('no sqlite here')")
    const store = openStore({ checkpoints: { script: broken }, onError: err => errors.push(err) })
    await until("the worker's failure", () => errors.length > 0)
    expect(errors[0].message).toMatch(/WAL checkpoints are back on the server's thread: .*no sqlite here/)
    // SQLite checkpoints by itself again: the WAL is started again at 1000 pages instead of growing.
    for (let round = 0; round < 20; round++) writeRound(store, 2000)
    expect(walBytes()).toBeLessThan(2 * 1000 * PAGE + 2000 * 200)
    await expect(store.checkpoint()).rejects.toThrow(/no background checkpoints|not running/)
})

test("an in-memory store has no worker", async () => {
    const store = new Store(":memory:", { pruneEveryMs: 0 })
    store.open()
    stores.push(store)
    writeRound(store, 10)
    await expect(store.checkpoint()).rejects.toThrow(/no background checkpoints/)
})

test("while the worker resets the WAL, the store says writes would wait, for at most holdWritesMs", async () => {
    const store = openStore({ checkpoints: { everyMs: 3_600_000, holdWritesMs: 300 } })
    writeRound(store, 100)
    // A reader on an older snapshot holds the RESTART up: the worker waits for it, with SQLite's write lock.
    const reader = new Database(file, { readonly: true })
    reader.exec("BEGIN")
    reader.prepare("SELECT count(*) FROM readings").get()
    writeRound(store, 100)
    expect(store.writesWait).toBe(false)
    let answered = false
    const restart = store.checkpoint("RESTART").finally(() => (answered = true))
    expect(store.writesWait).toBe(true)
    // A reset held up for longer than holdWritesMs no longer holds the server's writes back.
    await until("the hold to end", () => !store.writesWait)
    expect(answered).toBe(false)
    reader.exec("COMMIT")
    reader.close()
    const result = await restart
    expect(result.busy).toBe(0)
    expect(store.writesWait).toBe(false)
    // A PASSIVE checkpoint never holds the lock, so never the writes.
    const passive = store.checkpoint("PASSIVE")
    expect(store.writesWait).toBe(false)
    await passive
})
