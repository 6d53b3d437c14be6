/**
 * Settings changed at run time against the start-up configuration: the most recent change wins, across
 * restarts (a real SQLite file, reopened for every "start").
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, test } from "vitest"
import { openDatabase, type Db } from "../../../server/store/database"
import { SavedSettings, canonicalJson, describeSetting } from "../../../server/store/saved-settings"

const T0 = Date.UTC(2025, 2, 1, 20, 15)

let dir: string
let db: Db | undefined
beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-settings-"))
})
afterEach(() => {
    db?.close()
    db = undefined
    rmSync(dir, { recursive: true, force: true })
})

/** A server start: a fresh connection to the same file. */
function start(): SavedSettings {
    db?.close()
    db = openDatabase(join(dir, "nightlight.db"))
    return new SavedSettings(db, { now: () => T0 })
}

test("first start: the configured value, saved", () => {
    const settings = start()
    expect(settings.resolveWithOrigin("threshold", 300)).toMatchObject({ value: 300, origin: "configured" })
    expect(start().get("threshold")).toBe(300)
})

test("a run-time change wins over a configuration unchanged since, and the log line says why", () => {
    start().resolve("threshold", 300)
    start().set("threshold", 280) // on the dashboard

    const resolved = start().resolveWithOrigin("threshold", 300) // restarted with the same --threshold 300
    expect(resolved).toMatchObject({ value: 280, origin: "saved", configured: 300, changedAt: T0 })
    expect(describeSetting(resolved, "--threshold")).toBe(
        "threshold 280 (changed at run time 2025-03-01T20:15:00.000Z; --threshold 300 is unchanged since)"
    )
    expect(start().resolve("threshold", 300)).toBe(280) // and again
})

test("a configuration changed since the run-time change wins, and is kept on later starts", () => {
    start().resolve("threshold", 300)
    start().set("threshold", 280)

    const resolved = start().resolveWithOrigin("threshold", 320) // the user edited the flag since
    expect(resolved).toMatchObject({ value: 320, origin: "configured-changed", replaced: 280 })
    expect(describeSetting(resolved, "--threshold")).toBe(
        "threshold 320 (--threshold changed since the last start; it replaces 280 set at run time)"
    )
    expect(start().resolveWithOrigin("threshold", 320)).toMatchObject({ value: 320, origin: "configured" })
    // back to the old flag: that is a change of the configuration too
    expect(start().resolve("threshold", 300)).toBe(300)
})

test("a changed configuration with no run-time change is simply the configuration", () => {
    start().resolve("band", 100)
    expect(start().resolveWithOrigin("band", 50)).toMatchObject({ value: 50, origin: "configured" })
})

test("objects compare by content, whatever the key order", () => {
    const rule = { kind: "majority", staleAfterMs: 10_000, minVoters: 1 }
    start().resolve("group:hall", rule)
    start().set("group:hall", { ...rule, minVoters: 2 })
    const sameRuleOtherOrder = { minVoters: 1, kind: "majority", staleAfterMs: 10_000 }
    expect(start().resolveWithOrigin("group:hall", sameRuleOtherOrder)).toMatchObject({
        value: { kind: "majority", staleAfterMs: 10_000, minVoters: 2 },
        origin: "saved",
    })
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1}]}')
})

test("a key named __proto__ is kept as a key, not taken for the prototype", () => {
    const parsed: unknown = JSON.parse('{"b": 2, "__proto__": {"threshold": 700}}')
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"threshold":700},"b":2}')
})

test("a saved value the server no longer accepts gives way to the configuration", () => {
    start().resolve("threshold", 300)
    start().set("threshold", 5000) // written when the limits were different
    const isThreshold = (v: unknown) => typeof v === "number" && v >= 1 && v <= 1023
    expect(start().resolveWithOrigin("threshold", 300, isThreshold)).toMatchObject({ value: 300, origin: "configured" })
    expect(start().get("threshold")).toBe(300)
})

test("a value set before any resolve() counts as the latest change", () => {
    start().set("threshold", 250)
    expect(start().resolveWithOrigin("threshold", 300)).toMatchObject({ value: 250, origin: "saved" })
    // the configuration it was resolved against is on record now: changing it later wins
    expect(start().resolve("threshold", 310)).toBe(310)
})

test("get() of an unknown key is undefined; values that are not JSON are refused", () => {
    const settings = start()
    expect(settings.get("nothing")).toBeUndefined()
    expect(() => settings.set("threshold", NaN)).toThrow(/not a JSON value: NaN/)
    expect(() => settings.set("rule", { kind: undefined, f: () => 1 })).toThrow(/value\.f is not a JSON value/)
    expect(settings.get("threshold")).toBeUndefined()
})
