/**
 * The group's vote (server/groups/vote.ts), without a broker: who votes, which vote counts as dark (with
 * the band), majority and at-least, the quorum, and the stadium of docs/groups.md. Time is passed in.
 */
import { describe, expect, test } from "vitest"
import type { GroupRule } from "../../../server/http/api-types"
import { groupDecision, type MemberState } from "../../../server/groups/vote"

const NOW = 1_700_000_000_000
const THRESHOLD = 300
const BAND = 100
const majority: GroupRule = { kind: "majority", staleAfterMs: 30_000, minVoters: 1 }
const atLeast = (dark: number, minVoters = 1): GroupRule => ({
    kind: "at-least",
    dark,
    staleAfterMs: 30_000,
    minVoters,
})

/** Fresh members (read 1 s ago, status unknown) with these lights: stadium-01, stadium-02, ... */
const stadium = (...lights: number[]): MemberState[] =>
    lights.map((light, i) => ({
        id: `stadium-${String(i + 1).padStart(2, "0")}`,
        light,
        lightAt: NOW - 1000,
        online: undefined,
    }))
/** n bright sensors and d dark ones. */
const lights = (bright: number, dark: number) => [...Array(bright).fill(600), ...Array(dark).fill(100)]

const decide = (rule: GroupRule, members: MemberState[], current: boolean | undefined, band = BAND) =>
    groupDecision(rule, members, current, THRESHOLD, band, NOW)

describe("majority", () => {
    test("10 sensors, one shaded by a bird: the stadium stays off", () => {
        const members = stadium(...lights(9, 1))
        for (const current of [false, undefined])
            expect(decide(majority, members, current)).toEqual({
                ledOn: false,
                votes: { voters: 10, dark: 1, notVoting: [] },
            })
    })

    test("6 of 10 dark switches on; 5 of 10 is a tie and keeps the state", () => {
        expect(decide(majority, stadium(...lights(4, 6)), false).ledOn).toBe(true)
        expect(decide(majority, stadium(...lights(5, 5)), false).ledOn).toBe(false)
        expect(decide(majority, stadium(...lights(5, 5)), true).ledOn).toBe(true)
        // No decision yet and a tie: off, as a single device starts off in the band.
        expect(decide(majority, stadium(...lights(5, 5)), undefined).ledOn).toBe(false)
        expect(decide(majority, stadium(...lights(6, 4)), true).ledOn).toBe(false)
    })

    test("an odd number of voters: 4 of 7 is a majority, 3 of 7 is not", () => {
        expect(decide(majority, stadium(...lights(3, 4)), false).ledOn).toBe(true)
        expect(decide(majority, stadium(...lights(4, 3)), true).ledOn).toBe(false)
    })
})

describe("each member's own threshold and band (its device config)", () => {
    test("a member counts by its own line; one without its own by the group's call's", () => {
        const [a, b, c] = stadium(350, 350, 350)
        const members = [{ ...a, threshold: 400 }, { ...b, threshold: 200, band: 200 }, c]
        // off: dark below the threshold alone (400 yes; 200 and 300 no)
        expect(decide(majority, members, false).votes.dark).toBe(1)
        // on: dark below threshold + band (500 and 400 yes; 300 + 100 = 400 for the last one too)
        expect(decide(majority, members, true).votes.dark).toBe(3)
        expect(decide(majority, [a, { ...b, threshold: 200, band: 100 }, c], true).votes.dark).toBe(2)
    })
})

describe("the band: a voter stays dark until threshold + band while the group is on", () => {
    test("while on, 300-399 still counts as dark; 400 does not", () => {
        expect(decide(majority, stadium(...Array(10).fill(399)), true)).toMatchObject({
            ledOn: true,
            votes: { dark: 10 },
        })
        expect(decide(majority, stadium(...Array(10).fill(400)), true)).toMatchObject({
            ledOn: false,
            votes: { dark: 0 },
        })
    })

    test("while off (or undecided), only below the threshold counts as dark", () => {
        for (const current of [false, undefined]) {
            expect(decide(majority, stadium(...Array(10).fill(300)), current)).toMatchObject({
                ledOn: false,
                votes: { dark: 0 },
            })
            expect(decide(majority, stadium(...Array(10).fill(299)), current)).toMatchObject({
                ledOn: true,
                votes: { dark: 10 },
            })
        }
    })

    test("10 sensors hovering at 300 ± 45 for 500 readings: one switch with the band, over a hundred without", () => {
        const switches = (band: number) => {
            let seed = 7
            const noise = () => {
                seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
                return (seed % 91) - 45
            }
            let state: boolean | undefined = undefined
            let count = 0
            for (let step = 0; step < 500; step++) {
                const members = stadium(...Array.from({ length: 10 }, () => 300 + noise()))
                const next: boolean | undefined = decide(majority, members, state, band).ledOn
                if (state !== undefined && next !== state) count++
                state = next
            }
            return count
        }
        expect(switches(BAND)).toBeLessThanOrEqual(1)
        expect(switches(0)).toBeGreaterThan(100)
    })
})

describe("who votes", () => {
    const at = (members: MemberState[], i: number, change: Partial<MemberState>) =>
        members.map((m, j) => (j === i ? { ...m, ...change } : m))

    test("fresh means at most staleAfterMs old: 30 000 ms votes, 30 001 ms does not", () => {
        let members = stadium(100, 100, 600)
        members = at(members, 0, { lightAt: NOW - 30_000 })
        members = at(members, 1, { lightAt: NOW - 30_001 })
        expect(decide(majority, members, false)).toEqual({
            ledOn: false,
            votes: { voters: 2, dark: 1, notVoting: [{ id: "stadium-02", why: "stale" }] },
        })
    })

    test("offline members do not vote even with a fresh reading; unknown status (the lesson's device) votes", () => {
        let members = stadium(100, 100, 100, 600)
        members = at(members, 0, { online: false })
        members = at(members, 1, { online: true })
        expect(decide(majority, members, false)).toEqual({
            ledOn: true,
            votes: { voters: 3, dark: 2, notVoting: [{ id: "stadium-01", why: "offline" }] },
        })
    })

    test("a member that never reported does not vote", () => {
        let members = stadium(100, 600, 100)
        members = at(members, 0, { light: undefined, lightAt: undefined })
        expect(decide(majority, members, undefined)).toEqual({
            ledOn: false,
            votes: { voters: 2, dark: 1, notVoting: [{ id: "stadium-01", why: "no_reading" }] },
        })
    })

    test("six dark sensors that went stale or offline cannot switch on four bright ones", () => {
        let members = stadium(...lights(4, 6))
        for (const i of [4, 5, 6]) members = at(members, i, { lightAt: NOW - 60_000 })
        for (const i of [7, 8, 9]) members = at(members, i, { online: false })
        const result = decide(majority, members, false)
        expect(result.ledOn).toBe(false)
        expect(result.votes).toEqual({
            voters: 4,
            dark: 0,
            notVoting: [
                { id: "stadium-05", why: "stale" },
                { id: "stadium-06", why: "stale" },
                { id: "stadium-07", why: "stale" },
                { id: "stadium-08", why: "offline" },
                { id: "stadium-09", why: "offline" },
                { id: "stadium-10", why: "offline" },
            ],
        })
    })
})

describe("minVoters", () => {
    const quorum3: GroupRule = { ...majority, minVoters: 3 }
    const offline = (members: MemberState[], from: number) =>
        members.map((m, i) => (i >= from ? { ...m, online: false } : m))

    test("fewer voters than minVoters: the group keeps its state, or stays undecided", () => {
        const twoDark = offline(stadium(100, 100, 100, 100), 2)
        expect(decide(quorum3, twoDark, undefined)).toMatchObject({ ledOn: undefined, votes: { voters: 2, dark: 2 } })
        expect(decide(quorum3, twoDark, false).ledOn).toBe(false)
        expect(decide(quorum3, offline(stadium(600, 600, 600), 2), true).ledOn).toBe(true)
        expect(decide(quorum3, stadium(), true).ledOn).toBe(true)
    })

    test("with enough voters the group decides again", () => {
        expect(decide(quorum3, offline(stadium(100, 100, 600, 100), 3), false).ledOn).toBe(true)
    })

    test("with the default of 1, one sensor left standing decides for the group", () => {
        expect(decide(majority, offline(stadium(100, 600, 600, 600), 1), false).ledOn).toBe(true)
    })
})

describe("at-least k of n", () => {
    test("on when at least k voters are dark, off when fewer", () => {
        expect(decide(atLeast(3), stadium(...lights(8, 2)), false).ledOn).toBe(false)
        expect(decide(atLeast(3), stadium(...lights(7, 3)), false).ledOn).toBe(true)
        expect(decide(atLeast(3), stadium(...lights(8, 2)), true).ledOn).toBe(false)
    })

    test("the band applies: while on, a voter at 350 still counts as dark", () => {
        expect(decide(atLeast(3), stadium(350, 350, 350, 600), true).ledOn).toBe(true)
        expect(decide(atLeast(3), stadium(350, 350, 350, 600), false).ledOn).toBe(false)
    })

    test("members that do not vote count as not dark, unless minVoters >= k keeps the state", () => {
        const members = stadium(100, 100, 100, 100).map((m, i) => (i >= 2 ? { ...m, online: false } : m))
        expect(decide(atLeast(3), members, true).ledOn).toBe(false)
        expect(decide(atLeast(3, 3), members, true).ledOn).toBe(true)
    })

    test("k = 1: any single sensor switches the group (what a stadium does not want)", () => {
        expect(decide(atLeast(1), stadium(...lights(9, 1)), false).ledOn).toBe(true)
    })
})

describe("the stadium of docs/groups.md, one evening", () => {
    test("every row of the worked example", () => {
        const rule: GroupRule = { kind: "majority", staleAfterMs: 30_000, minVoters: 4 }
        let state: boolean | undefined = undefined
        const row = (members: MemberState[]) => {
            const result = groupDecision(rule, members, state, THRESHOLD, BAND, NOW)
            state = result.ledOn
            return [result.votes.voters, result.votes.dark, result.ledOn]
        }
        // 18:00: a bird on one sensor.
        expect(row(stadium(...lights(9, 1)))).toEqual([10, 1, false])
        // 19:30: dusk, five below 300.
        expect(row(stadium(...Array(5).fill(350), ...Array(5).fill(250)))).toEqual([10, 5, false])
        // 19:32: six below 300.
        expect(row(stadium(...Array(4).fill(350), ...Array(6).fill(250)))).toEqual([10, 6, true])
        // 19:33: the floodlights shine on every sensor: 320-380.
        expect(row(stadium(320, 330, 340, 350, 360, 370, 380, 320, 330, 340))).toEqual([10, 10, true])
        // 23:00: three sensors lose Wi-Fi.
        const night = stadium(...Array(10).fill(330)).map((m, i) => (i < 3 ? { ...m, lightAt: NOW - 31_000 } : m))
        expect(row(night)).toEqual([7, 7, true])
        // 06:10: dawn, four of the seven below 400.
        const dawn = (below: number) => night.map((m, i) => (i < 3 ? m : { ...m, light: i - 3 < below ? 390 : 450 }))
        expect(row(dawn(4))).toEqual([7, 4, true])
        // 06:15: three of the seven below 400.
        expect(row(dawn(3))).toEqual([7, 3, false])
    })
})
