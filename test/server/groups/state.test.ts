/**
 * The groups while the server runs (server/groups/state.ts), without a broker: when a group's state is a
 * decision. Only a vote with at least `minVoters` voters decides; before the first one, the members'
 * LEDs are only where the band starts from. Time is passed in.
 */
import { describe, expect, test } from "vitest"
import { GroupStates, type MemberLookup } from "../../../server/groups/state"

const NOW = 1_700_000_000_000
const rules = { threshold: 300, band: 100 }
const members = ["m1", "m2", "m3", "m4", "m5", "m6"]

/** Six members, majority, quorum 4. */
const sixWithQuorum4 = () =>
    new GroupStates([{ name: "pitch", members, rule: { kind: "majority", staleAfterMs: 30_000, minVoters: 4 } }])

/** Members with a fresh reading of `light` and the LED state the server has for them (`auto`). */
function lookup(known: Record<string, { light?: number; auto?: boolean }>): MemberLookup {
    return id => {
        const m = known[id]
        if (!m) return undefined
        const lightAt = m.light === undefined ? undefined : NOW - 1000
        return { state: { light: m.light, lightAt, online: undefined }, auto: m.auto }
    }
}

describe("a group's decision and its quorum", () => {
    test("short of the quorum, a group that never decided stays undecided, whatever its members' LEDs", () => {
        const groups = sixWithQuorum4()
        // two dark voters; a third member was switched on by hand (its LED is on, it has no reading)
        const short = lookup({ m1: { light: 100 }, m2: { light: 100, auto: true }, m3: { auto: true } })
        expect(groups.vote("pitch", short, rules, NOW)).toEqual({ ledOn: undefined, changed: false })
        expect(groups.view("pitch")).toMatchObject({ ledOn: null, votes: { voters: 2, dark: 2 } })
    })

    test("the first vote with its quorum decides, from the members' LEDs for the band (a restart)", () => {
        const groups = sixWithQuorum4()
        // four voters at 350, inside the band; their LEDs were on before the restart: they still count as dark
        const inBand = { light: 350, auto: true }
        const restarted = lookup({ m1: inBand, m2: inBand, m3: inBand, m4: inBand })
        expect(groups.vote("pitch", restarted, rules, NOW)).toEqual({ ledOn: true, changed: true })
    })

    test("once decided, a group short of its quorum keeps its state", () => {
        const groups = sixWithQuorum4()
        const dark = { light: 100 }
        groups.vote("pitch", lookup({ m1: dark, m2: dark, m3: dark, m4: dark }), rules, NOW)
        expect(groups.vote("pitch", lookup({ m1: { light: 800 } }), rules, NOW)).toEqual({
            ledOn: true,
            changed: false,
        })
        expect(groups.view("pitch")).toMatchObject({ ledOn: true, votes: { voters: 1, dark: 0 } })
    })
})
