/**
 * ChangedEntries (server/util/changed-entries.ts): what a save of the device config's rows would write,
 * the entries changed since the last save and nothing else.
 */
import { expect, test } from "vitest"
import { ChangedEntries } from "../../../server/util/changed-entries"

const loaded = () => {
    const map = new ChangedEntries<string, number>((a, b) => a === b)
    map.restore("porch", 1)
    map.restore("hall", 2)
    return map
}

test("loaded entries are no change; a set, a delete and a new key are, each with its value now", () => {
    const map = loaded()
    expect([...map.changes()]).toEqual([])
    map.set("porch", 5)
    map.delete("hall")
    map.set("attic", 3)
    expect([...map.changes()]).toEqual([
        ["porch", 5],
        ["hall", undefined],
        ["attic", 3],
    ])
    expect([...map]).toEqual([
        ["porch", 5],
        ["attic", 3],
    ])
})

test("an entry set back to its saved value, or cleared and set again, is no change", () => {
    const map = loaded()
    map.set("porch", 5)
    map.set("porch", 1)
    map.set("attic", 3)
    map.delete("attic")
    map.clear()
    map.set("hall", 2)
    expect([...map.changes()]).toEqual([["porch", undefined]])
})

test("after a save only later changes count; until then a failed save's changes stay", () => {
    const map = loaded()
    map.set("porch", 5)
    expect(map.changes().size).toBe(1) // the save failed: nothing marked
    map.set("hall", 6)
    expect([...map.changes()]).toEqual([
        ["porch", 5],
        ["hall", 6],
    ])
    map.markSaved()
    expect([...map.changes()]).toEqual([])
    map.set("porch", 1)
    expect([...map.changes()]).toEqual([["porch", 1]])
})

test("a saved entry that was not loaded is written at the next save, whatever the map holds", () => {
    const map = loaded()
    map.dropSaved("junk")
    map.dropSaved("hall")
    map.set("hall", 2)
    expect([...map.changes()]).toEqual([
        ["junk", undefined],
        ["hall", 2],
    ])
})
