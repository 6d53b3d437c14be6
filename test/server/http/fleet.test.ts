/**
 * The fleet's states and pages (server/http/fleet.ts): each state as api-types.ts defines it, the counts
 * a summary shows, and the order of every sort, ties by id.
 */
import { describe, expect, test } from "vitest"
import { DEVICE_STATES, type DeviceQuery } from "../../../server/http/api-types"
import { FLEET, countStates, hasState, pageOf, type DeviceFlags, type FleetFacts } from "../../../server/http/fleet"

const NOW = 1_700_000_000_000

function facts(id: string, fields: Partial<FleetFacts> = {}): FleetFacts {
    return { id, online: true, lastSeen: NOW, light: 500, ledOn: false, reportedLed: false, local: false, ...fields }
}

const none: DeviceFlags = { readingsLost: () => false, configOld: () => false }
/** The flags of a server that says these devices lost readings, and these run an old config. */
const flagged = (lost: string[], old: string[] = []): DeviceFlags => ({
    readingsLost: id => lost.includes(id),
    configOld: id => old.includes(id),
})
const query = (fields: Partial<DeviceQuery> = {}): DeviceQuery => ({
    offset: 0,
    limit: 100,
    sort: "id",
    order: "asc",
    ...fields,
})

describe("states", () => {
    test("each device is in exactly the states its fields say", () => {
        const states = (d: FleetFacts, lost = none) => DEVICE_STATES.filter(s => hasState(d, s, NOW, lost))
        expect(states(facts("a"))).toEqual(["online", "led_off"])
        expect(states(facts("b", { online: false, ledOn: true, reportedLed: true }))).toEqual(["offline", "led_on"])
        expect(states(facts("c", { online: null, ledOn: null, reportedLed: null }))).toEqual(["no_status"])
        expect(states(facts("d", { local: true, ledOn: true, reportedLed: false }))).toEqual([
            "online",
            "led_on",
            "local",
            "led_disagrees",
        ])
        // a reported LED without a decision does not disagree with anything
        expect(states(facts("e", { ledOn: null, reportedLed: true }))).toEqual(["online"])
        expect(states(facts("f"), flagged(["f"]))).toEqual(["online", "led_off", "readings_lost"])
        expect(states(facts("g"), flagged([], ["g"]))).toEqual(["online", "led_off", "config_old"])
    })

    test("stale: heard from more than staleAfterMs ago, not at exactly that age", () => {
        expect(hasState(facts("a", { lastSeen: NOW - FLEET.staleAfterMs }), "stale", NOW, none)).toBe(false)
        expect(hasState(facts("a", { lastSeen: NOW - FLEET.staleAfterMs - 1 }), "stale", NOW, none)).toBe(true)
    })

    test("the summary counts every device once per state it is in", () => {
        const fleet = [
            facts("a"),
            facts("b", { online: false, lastSeen: NOW - 3_600_000 }),
            facts("c", { online: null, ledOn: true, reportedLed: null }),
        ]
        expect(countStates(fleet, NOW, flagged(["c"], ["a"]))).toEqual({
            devices: 3,
            counts: {
                online: 1,
                offline: 1,
                no_status: 1,
                led_on: 1,
                led_off: 2,
                local: 0,
                stale: 1,
                readings_lost: 1,
                led_disagrees: 0,
                config_old: 1,
            },
        })
    })
})

describe("pages", () => {
    const fleet = [
        facts("hall-2", { light: 300, lastSeen: NOW - 10, online: null }),
        facts("hall-1", { light: null, lastSeen: NOW - 30, online: false }),
        facts("porch", { light: 100, lastSeen: NOW - 20 }),
        facts("attic", { light: 300, lastSeen: NOW - 40, online: false }),
    ]
    const ids = (q: Partial<DeviceQuery>) => pageOf(fleet, query(q), NOW, none).page.map(d => d.id)

    test("every sort, ascending and descending, ties by id", () => {
        expect(ids({ sort: "id" })).toEqual(["attic", "hall-1", "hall-2", "porch"])
        expect(ids({ sort: "id", order: "desc" })).toEqual(["porch", "hall-2", "hall-1", "attic"])
        // no reading yet: last either way
        expect(ids({ sort: "light" })).toEqual(["porch", "attic", "hall-2", "hall-1"])
        expect(ids({ sort: "light", order: "desc" })).toEqual(["hall-2", "attic", "porch", "hall-1"])
        expect(ids({ sort: "lastSeen" })).toEqual(["attic", "hall-1", "porch", "hall-2"])
        // ids in the unpaged list's order (localeCompare), not by code unit: "Cellar" between the others
        const mixed = [facts("cellar-b"), facts("Cellar-a"), facts("attic")]
        expect(pageOf(mixed, query(), NOW, none).page.map(d => d.id)).toEqual(
            mixed.map(d => d.id).sort((a, b) => a.localeCompare(b))
        )
        // offline, then no status, then online
        expect(ids({ sort: "state" })).toEqual(["attic", "hall-1", "hall-2", "porch"])
    })

    test("filters by state and id part; the total counts every match, the page only its slice", () => {
        expect(ids({ state: "offline" })).toEqual(["attic", "hall-1"])
        expect(ids({ q: "HALL" })).toEqual(["hall-1", "hall-2"])
        expect(ids({ q: "hall", state: "no_status" })).toEqual(["hall-2"])
        const page = pageOf(fleet, query({ offset: 1, limit: 2 }), NOW, none)
        expect({ total: page.total, ids: page.page.map(d => d.id) }).toEqual({ total: 4, ids: ["hall-1", "hall-2"] })
        expect(pageOf(fleet, query({ offset: 10 }), NOW, none)).toEqual({ total: 4, page: [] })
    })
})
