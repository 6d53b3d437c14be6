/**
 * DirtyParts: which devices' rows Store.flushSome() writes, a part at a time. Keys come from a map
 * standing in for DeviceKeys: `cached` is what the server looked up already, `stored` what the database
 * would answer.
 */
import { expect, test } from "vitest"
import { DirtyParts } from "../../../server/store/dirty-parts"

function keysOf(cached: Record<string, number>, stored: Record<string, number> = cached) {
    const lookups: string[] = []
    return {
        lookups,
        cached: (id: string) => cached[id],
        find: (id: string) => {
            lookups.push(id)
            return stored[id]
        },
    }
}

test("a device is taken with its part (key modulo the parts) and not before", () => {
    const dirty = new DirtyParts(4, keysOf({ a: 1, b: 6, c: 4 }))
    for (const id of ["a", "b", "c"]) dirty.add(id)
    expect(dirty.size).toBe(3)
    expect(dirty.take(0, 1)).toEqual(new Set(["c"])) // 4 % 4
    expect(dirty.take(1, 1)).toEqual(new Set(["a"]))
    expect(dirty.take(2, 1)).toEqual(new Set(["b"])) // 6 % 4
    expect(dirty.take(3, 1)).toEqual(new Set())
    expect(dirty.size).toBe(0)
})

test("several parts at once round the end to the start; a part taken is empty until marked again", () => {
    const dirty = new DirtyParts(4, keysOf({ p0: 0, p1: 1, p2: 2, p3: 3 }))
    for (const id of ["p0", "p1", "p2", "p3"]) dirty.add(id)
    expect(dirty.take(3, 2)).toEqual(new Set(["p3", "p0"]))
    expect(dirty.take(3, 2)).toEqual(new Set())
    dirty.add("p0")
    dirty.add("p0") // twice: once
    expect(dirty.size).toBe(3)
    expect(dirty.take(0, 10)).toEqual(new Set(["p0", "p1", "p2"])) // more parts than there are: all
})

test("a device whose key is unknown is taken by the next take, or waits for its part once the database knows its key", () => {
    const keys = keysOf({}, { known: 2 })
    const dirty = new DirtyParts(4, keys)
    dirty.add("new") // never stored: no key anywhere
    dirty.add("known") // stored, but not looked up yet
    expect(keys.lookups).toEqual([]) // marking never asks the database
    expect(dirty.take(0, 1)).toEqual(new Set(["new"]))
    expect(dirty.size).toBe(1)
    expect(dirty.take(1, 1)).toEqual(new Set())
    expect(dirty.take(2, 1)).toEqual(new Set(["known"]))
    expect(keys.lookups).toEqual(["new", "known"]) // each looked up once
})

test("takeAll() takes every dirty device, keyed or not; clear() forgets them", () => {
    const dirty = new DirtyParts(3, keysOf({ a: 0, b: 1 }))
    for (const id of ["a", "b", "c"]) dirty.add(id)
    expect(dirty.takeAll()).toEqual(new Set(["a", "b", "c"]))
    expect(dirty.size).toBe(0)
    dirty.add("a")
    dirty.clear()
    expect(dirty.take(0, 3)).toEqual(new Set())
})

test("the number of parts must be a whole number of at least one", () => {
    expect(() => new DirtyParts(0, keysOf({}))).toThrow("parts must be a whole number ≥ 1, got 0")
    expect(() => new DirtyParts(1.5, keysOf({}))).toThrow(RangeError)
})
