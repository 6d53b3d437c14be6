/** The history of readings and commands, on real SQLite files in a temp dir. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, test } from "vitest"
import type { HistoryPoint } from "../../../server/http/api-types"
import { openDatabase, type Db } from "../../../server/store/database"
import { History } from "../../../server/store/history"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
/** Minute-aligned, so tests can say which minute a reading falls in. */
const T0 = Date.UTC(2025, 0, 1)

let dir: string
let db: Db
beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-history-"))
    db = openDatabase(join(dir, "nightlight.db"))
})
afterEach(() => {
    if (db.open) db.close()
    rmSync(dir, { recursive: true, force: true })
})

const reopen = (): Db => {
    db.close()
    db = openDatabase(join(dir, "nightlight.db"))
    return db
}

/** What the buckets must be, computed from the readings themselves. */
function expectedBuckets(
    data: { t: number; light: number; led: boolean | null }[],
    from: number,
    to: number,
    origin: number,
    bucketMs: number
): HistoryPoint[] {
    const buckets = new Map<
        number,
        { t: number; n: number; sum: number; min: number; max: number; led: boolean | null }
    >()
    for (const r of data) {
        if (r.t < from || r.t > to) continue
        const t = origin + Math.floor((r.t - origin) / bucketMs) * bucketMs
        const b = buckets.get(t) ?? { t, n: 0, sum: 0, min: Infinity, max: -Infinity, led: null }
        b.n++
        b.sum += r.light
        b.min = Math.min(b.min, r.light)
        b.max = Math.max(b.max, r.light)
        if (r.led !== null) b.led = b.led === true || r.led
        buckets.set(t, b)
    }
    return [...buckets.values()]
        .sort((a, b) => a.t - b.t)
        .map(b => ({ t: b.t, light: b.sum / b.n, min: b.min, max: b.max, led: b.led }))
}

function expectSamePoints(actual: HistoryPoint[], expected: HistoryPoint[]): void {
    expect(actual.map(p => [p.t, p.min, p.max, p.led])).toEqual(expected.map(p => [p.t, p.min, p.max, p.led]))
    actual.forEach((p, i) => expect(p.light).toBeCloseTo(expected[i].light, 9))
}

test("readings and commands wait in memory until flush() stores them all, and survive a reopen", () => {
    const history = new History(db)
    history.addReading("kitchen", T0, 250, true)
    history.addReading("kitchen", T0 + 2000, 400.5, false)
    history.addReading("hall", T0 + 1000, 800, null)
    history.addCommand("kitchen", T0 + 10, true, "light 250 < 300", 17)
    expect(history.pendingCount()).toBe(4)
    expect(history.readings("kitchen", T0, T0 + HOUR, 1000).readings).toEqual([]) // not flushed yet

    expect(history.flush()).toBe(4)
    expect(history.pendingCount()).toBe(0)
    expect(history.flush()).toBe(0)

    const after = new History(reopen())
    expect(after.readings("kitchen", T0, T0 + HOUR, 1000)).toEqual({
        bucketMs: 0,
        readings: [
            { t: T0, light: 250, led: true },
            { t: T0 + 2000, light: 400.5, led: false },
        ],
    })
    expect(after.readings("hall", T0, T0 + HOUR, 1000).readings).toEqual([{ t: T0 + 1000, light: 800, led: null }])
    expect(after.commands("kitchen", T0, T0 + HOUR)).toEqual([{ t: T0 + 10, ledOn: true, reason: "light 250 < 300" }])
})

test("flush() with nothing buffered does not touch the database", () => {
    const history = new History(db)
    db.close()
    expect(history.flush()).toBe(0)
})

test("a flush that fails writes nothing and keeps every row for the next one", () => {
    const history = new History(db)
    db.exec(`CREATE TRIGGER broken BEFORE INSERT ON readings WHEN NEW.light = 666
             BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`)
    history.addReading("kitchen", T0, 100, null)
    history.addCommand("kitchen", T0, true, "dark", 1)
    history.addReading("kitchen", T0 + 2000, 666, null)
    expect(() => history.flush()).toThrow(/cannot write to database .*nightlight\.db: disk on fire/)
    expect(history.pendingCount()).toBe(3)
    expect(db.prepare("SELECT count(*) FROM readings").pluck().get()).toBe(0)
    expect(db.prepare("SELECT count(*) FROM commands").pluck().get()).toBe(0)

    history.addReading("kitchen", T0 + 4000, 300, null)
    db.exec("DROP TRIGGER broken")
    expect(history.flush()).toBe(4)
    expect(history.readings("kitchen", T0, T0 + HOUR, 100).readings.map(r => r.light)).toEqual([100, 666, 300])
})

test("two readings of one device in the same ms are both kept: the later one at the next free ms", () => {
    const history = new History(db)
    history.addReading("kitchen", T0 + 1, 500, null)
    history.flush()
    history.addReading("kitchen", T0, 100, null)
    history.addReading("kitchen", T0, 200, null) // T0 + 1 is taken: goes to T0 + 2
    history.addReading("kitchen", T0, 300, null) // goes to T0 + 3
    history.addReading("hall", T0, 900, null) // another device: no collision
    history.flush()
    expect(history.readings("kitchen", T0, T0 + 10, 100).readings.map(r => [r.t, r.light])).toEqual([
        [T0, 100],
        [T0 + 1, 500],
        [T0 + 2, 200],
        [T0 + 3, 300],
    ])
    expect(history.readings("hall", T0, T0 + 10, 100).readings).toHaveLength(1)
    expect(history.movedReadings).toBe(2)
})

test("the same reading stored again (same ms, light and LED: a device resending it) is not a second row", () => {
    const history = new History(db)
    history.addReading("kitchen", T0, 100, true)
    history.flush()
    history.addReading("kitchen", T0, 100, true) // resent
    history.addReading("kitchen", T0, 100, false) // a different reading in the same ms: kept
    history.flush()
    expect(history.readings("kitchen", T0, T0 + 10, 100).readings.map(r => [r.t, r.led])).toEqual([
        [T0, true],
        [T0 + 1, false],
    ])
    expect(history.repeatedReadings).toBe(1)
    expect(history.movedReadings).toBe(1)
})

test("a range includes readings at exactly `from` and `to`, and none outside", () => {
    const history = new History(db)
    for (const t of [T0 - 1, T0, T0 + 500, T0 + 1000, T0 + 1001]) history.addReading("kitchen", t, 300, null)
    for (const t of [T0 - 1, T0, T0 + 1000, T0 + 1001]) history.addCommand("kitchen", t, true, "dark", t)
    history.flush()
    expect(history.readings("kitchen", T0, T0 + 1000, 100).readings.map(r => r.t)).toEqual([T0, T0 + 500, T0 + 1000])
    expect(history.commands("kitchen", T0, T0 + 1000).map(c => c.t)).toEqual([T0, T0 + 1000])
    expect(history.commands("kitchen", T0 - 1, T0 + 1001, 2).map(c => c.t)).toEqual([T0 - 1, T0]) // oldest first
})

test("an unknown device, or a range that ends before it starts, has no history", () => {
    const history = new History(db)
    history.addReading("kitchen", T0, 300, null)
    history.flush()
    expect(history.readings("nobody", T0 - HOUR, T0 + HOUR, 100)).toEqual({ bucketMs: 0, readings: [] })
    expect(history.commands("nobody", T0 - HOUR, T0 + HOUR)).toEqual([])
    expect(history.readings("kitchen", T0 + 1, T0, 100)).toEqual({ bucketMs: 0, readings: [] })
})

test("more readings than points: buckets of ceil(range/points) from `from`, with mean, min, max and any LED on", () => {
    const history = new History(db)
    // 12 readings 1 s apart; 4 points over 12 s → buckets of 3 s.
    const leds = [false, true, false, null, null, null, false, null, false, true, true, true]
    const data = leds.map((led, i) => ({ t: T0 + i * 1000, light: 100 + i * 10 + (i % 2) * 7, led }))
    for (const r of data) history.addReading("kitchen", r.t, r.light, r.led)
    history.flush()
    expect(history.readings("kitchen", T0, T0 + 12_000, 12).bucketMs).toBe(0) // exactly `points`: raw

    const result = history.readings("kitchen", T0, T0 + 12_000, 4)
    expect(result.bucketMs).toBe(3000)
    expect(result.readings).toEqual([
        { t: T0, light: (100 + 117 + 120) / 3, min: 100, max: 120, led: true },
        { t: T0 + 3000, light: (137 + 140 + 157) / 3, min: 137, max: 157, led: null },
        { t: T0 + 6000, light: (160 + 177 + 180) / 3, min: 160, max: 180, led: false },
        { t: T0 + 9000, light: (197 + 200 + 217) / 3, min: 197, max: 217, led: true },
    ])
})

test("wide buckets (from the per-minute rollup) match the readings exactly, also across partial minutes", () => {
    const history = new History(db)
    const data: { t: number; light: number; led: boolean | null }[] = []
    for (let i = 0; i < 108_000; i++) {
        // 2.5 days of 2 s readings, not aligned to the minute, with fractional light and all kinds of led
        const t = T0 + 1234 + i * 2000
        data.push({ t, light: 500 + 400 * Math.sin(i / 500) + (i % 7) / 4, led: i % 5 === 0 ? null : i % 3 === 0 })
    }
    for (const r of data) history.addReading("kitchen", r.t, r.light, r.led)
    history.flush()

    const from = T0 + 7 * MINUTE + 12_345 // mid-minute on both ends
    const to = T0 + 23 * HOUR + 17_777
    const result = history.readings("kitchen", from, to, 100)
    const origin = T0 + 7 * MINUTE // the minute `from` falls in
    expect(result.bucketMs % MINUTE).toBe(0)
    expect(result.bucketMs).toBe(14 * MINUTE) // (23 h - 7 min) / 100 = 13.73 min, rounded up to whole minutes
    expect(result.readings.length).toBeLessThanOrEqual(100)
    expectSamePoints(result.readings, expectedBuckets(data, from, to, origin, result.bucketMs))

    // a range over 2 days with narrow buckets uses the rollup too, with buckets of at least a minute
    const long = history.readings("kitchen", from, from + 2.2 * 24 * HOUR, 5000)
    expect(long.bucketMs).toBe(MINUTE)
    expect(long.readings.length).toBeLessThanOrEqual(5000)
    expectSamePoints(long.readings, expectedBuckets(data, from, from + 2.2 * 24 * HOUR, origin, MINUTE))

    // narrower buckets of a shorter range read the readings themselves, starting at `from`
    const narrow = history.readings("kitchen", from, from + HOUR, 100)
    expect(narrow.bucketMs).toBe(36_000)
    expectSamePoints(narrow.readings, expectedBuckets(data, from, from + HOUR, from, narrow.bucketMs))
})

test("prune() deletes readings, commands and rollups older than the retention, in chunks", () => {
    let now = T0 + 10 * HOUR
    const history = new History(db, { retentionMs: 2 * HOUR, now: () => now })
    for (let i = 0; i < 25_000; i++) history.addReading("old", T0 + i * 1000, 200, true) // ~7 h, all old
    for (let t = T0; t <= now; t += 30 * MINUTE) {
        history.addReading("kitchen", t, 300, null)
        history.addCommand("kitchen", t, false, "bright", t)
    }
    history.flush()

    expect(history.prune(now, 10_000)).toBe(10_000) // at most maxRows per call
    expect(history.prune()).toBe(15_000 + 16 + 16) // the rest: before 8 h ago, kitchen has 16 of each
    expect(history.prune()).toBe(0)
    expect(history.readings("old", T0, now, 1000).readings).toEqual([])
    expect(history.readings("kitchen", T0, now, 1000).readings.map(r => r.t - T0)).toEqual([
        8 * HOUR,
        8.5 * HOUR,
        9 * HOUR,
        9.5 * HOUR,
        10 * HOUR,
    ])
    expect(history.commands("kitchen", T0, now)).toHaveLength(5)
    // the rollup went too: a wide query over the pruned hours finds nothing
    expect(
        db
            .prepare("SELECT count(*) FROM readings_by_minute WHERE m < ?")
            .pluck()
            .get(now - 2 * HOUR)
    ).toBe(0)

    now += HOUR
    expect(history.prune()).toBe(4) // 8 h and 8.5 h: a reading and a command each
})

test("add*() refuse values SQLite would reject, so one bad row cannot block every later flush", () => {
    const history = new History(db)
    expect(() => history.addReading("kitchen", T0 + 0.5, 300, null)).toThrow(/kitchen.*integer ms/)
    expect(() => history.addReading("kitchen", T0, NaN, null)).toThrow(/kitchen.*finite/)
    expect(history.pendingCount()).toBe(0)
})
