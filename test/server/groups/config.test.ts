/**
 * The groups file (docs/groups.md) and the run-time rule change: what parses, the defaults, and the
 * exact lines a user reads when the file or a PATCH is wrong.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, test } from "vitest"
import type { GroupRule } from "../../../server/http/api-types"
import {
    GroupsConfigError,
    applyRulePatch,
    formatPath,
    loadGroupsFile,
    parseGroups,
    ruleToFile,
    type GroupConfig,
} from "../../../server/groups/config"

const groupsJson = (groups: Record<string, unknown>) => JSON.stringify({ groups }, null, 4)
const ten = Array.from({ length: 10 }, (_, i) => `stadium-${String(i + 1).padStart(2, "0")}`)

/** The error lines for this file text (fails the test if it parses). */
function problems(text: string, source = "groups.json"): string[] {
    try {
        parseGroups(text, source)
    } catch (error) {
        expect(error).toBeInstanceOf(GroupsConfigError)
        return (error as Error).message.split("\n")
    }
    throw new Error(`expected to be rejected: ${text}`)
}
const groupProblems = (groups: Record<string, unknown>) => problems(groupsJson(groups))

describe("parseGroups: good files", () => {
    test("examples/groups.json is the 10-device stadium, by majority, with a quorum of 4", () => {
        expect(loadGroupsFile("examples/groups.json")).toEqual([
            { name: "stadium", members: ten, rule: { kind: "majority", staleAfterMs: 30_000, minVoters: 4 } },
        ])
    })

    test("the full example in docs/groups.md parses to what the page says", () => {
        const doc = readFileSync("docs/groups.md", "utf8")
        const example = /```json\n([\s\S]*?)```/.exec(doc)?.[1]
        expect(example).toContain('"car-park"')
        const groups = parseGroups(example!, "docs/groups.md")
        expect(groups.map(g => [g.name, g.members.length, g.rule])).toEqual([
            ["stadium", 10, { kind: "majority", staleAfterMs: 30_000, minVoters: 4 }],
            ["car-park", 4, { kind: "at-least", dark: 2, staleAfterMs: 60_000, minVoters: 2 }],
        ])
    })

    test("defaults: majority, fresh for 30 s, one voter decides", () => {
        expect(parseGroups(groupsJson({ porch: { members: ["porch-1", "porch-2"] } }), "g.json")).toEqual([
            {
                name: "porch",
                members: ["porch-1", "porch-2"],
                rule: { kind: "majority", staleAfterMs: 30_000, minVoters: 1 },
            },
        ])
    })

    test("the file counts staleAfterMs in ms, as the API does", () => {
        const [g] = parseGroups(
            groupsJson({ a: { members: ["x", "y"], rule: "at-least", dark: 2, staleAfterMs: 2500 } }),
            "g"
        )
        expect(g.rule).toEqual({ kind: "at-least", dark: 2, staleAfterMs: 2500, minVoters: 1 })
        expect(ruleToFile(g.rule)).toEqual({ rule: "at-least", dark: 2, staleAfterMs: 2500, minVoters: 1 })
    })

    test("an old file's staleAfterSeconds is refused with the line to write instead", () => {
        expect(
            groupProblems({
                a: { members: ["x"], staleAfterSeconds: 2.5 },
                b: { members: ["y"], staleAfterSeconds: "30" },
            })
        ).toEqual([
            'groups.json: groups.a.staleAfterSeconds: now "staleAfterMs", in milliseconds as in the API: write "staleAfterMs": 2500',
            'groups.json: groups.b.staleAfterSeconds: now "staleAfterMs", in milliseconds as in the API',
        ])
    })

    test("several groups keep the file's order; names may use _ . - and digits; no groups at all is allowed", () => {
        const groups = parseGroups(
            groupsJson({
                "north.stand": { members: ["n1"] },
                south_2: { members: ["s1"] },
                "car-park": { members: ["c1"] },
            }),
            "g"
        )
        expect(groups.map(g => g.name)).toEqual(["north.stand", "south_2", "car-park"])
        expect(parseGroups(`{"groups": {}}`, "g")).toEqual([])
    })

    test("a UTF-8 byte-order mark (Windows editors) is accepted", () => {
        expect(parseGroups(`\uFEFF{"groups": {"a": {"members": ["x"]}}}`, "g")).toHaveLength(1)
    })
})

describe("parseGroups: every problem named, one per line", () => {
    test("a bad device id", () => {
        expect(groupProblems({ stadium: { members: ["a", "b", "c", "a/b"] } })).toEqual([
            'groups.json: groups.stadium.members[3]: "a/b" is not a valid device id (1-64 letters, digits or _ . : -, not only dots)',
        ])
    })

    test("the lines shown in docs/groups.md", () => {
        const text = groupsJson({
            stadium: { members: ["pole-1", "pole-2", "pole-3", "a/b"], staleAfterSecs: 30 },
            north: { members: ["pole-1"] },
        })
        expect(problems(text)).toEqual([
            'groups.json: groups.stadium.members[3]: "a/b" is not a valid device id (1-64 letters, digits or _ . : -, not only dots)',
            'groups.json: groups.stadium.staleAfterSecs: unknown key (did you mean "staleAfterMs"?)',
            'groups.json: groups.north.members[0]: "pole-1" is also a member of group "stadium" (a device votes in one group only)',
        ])
        const doc = readFileSync("docs/groups.md", "utf8")
        for (const line of problems(text)) expect(doc).toContain(line)
    })

    test("unknown keys are errors, with a suggestion for a typo or the other form's name", () => {
        expect(
            groupProblems({ a: { members: ["x"], minvoters: 2, color: "red", kind: "majority", staleafter: 5000 } })
        ).toEqual([
            'groups.json: groups.a.minvoters: unknown key (did you mean "minVoters"?)',
            "groups.json: groups.a.color: unknown key (expected one of: members, rule, dark, staleAfterMs, minVoters)",
            'groups.json: groups.a.kind: unknown key (did you mean "rule"?)',
            'groups.json: groups.a.staleafter: unknown key (did you mean "staleAfterMs"?)',
        ])
        expect(problems(`{"groups": {}, "grups": {}}`)).toEqual([
            'groups.json: grups: unknown key (did you mean "groups"?)',
        ])
    })

    test("a device in two groups names both groups", () => {
        expect(
            groupProblems({ north: { members: ["n1", "cam-3"] }, south: { members: ["s1", "s2", "cam-3"] } })
        ).toEqual([
            'groups.json: groups.south.members[2]: "cam-3" is also a member of group "north" (a device votes in one group only)',
        ])
    })

    test("a member listed twice", () => {
        expect(groupProblems({ a: { members: ["pole-1", "pole-2", "pole-1"] } })).toEqual([
            'groups.json: groups.a.members[2]: "pole-1" is listed twice (also members[0])',
        ])
    })

    test("dark: required for at-least, at most the member count, only for at-least", () => {
        expect(groupProblems({ a: { members: ["x", "y", "z"], rule: "at-least" } })).toEqual([
            'groups.json: groups.a.dark: missing: the "at-least" rule needs "dark", how many members must see dark to switch on (1 to 3)',
        ])
        expect(groupProblems({ a: { members: ["x", "y", "z"], rule: "at-least", dark: 4 } })).toEqual([
            "groups.json: groups.a.dark: 4 is more than the group's 3 members: it could never switch on",
        ])
        expect(groupProblems({ a: { members: ["x", "y"], dark: 2 } })).toEqual([
            'groups.json: groups.a.dark: only used with the "at-least" rule, and this group\'s rule is "majority"',
        ])
    })

    test("minVoters above the member count; a group with no members", () => {
        expect(groupProblems({ a: { members: ["x"], minVoters: 2 } })).toEqual([
            "groups.json: groups.a.minVoters: 2 is more than the group's 1 member: it could never decide",
        ])
        expect(groupProblems({ a: { members: [] } })).toEqual([
            "groups.json: groups.a.members: a group needs at least one member",
        ])
    })

    test("wrong types and ranges say what was expected and what was found", () => {
        expect(
            groupProblems({
                a: { members: "pole-1" },
                b: { members: ["x", 7], rule: "most", staleAfterMs: "30", minVoters: 0.5, dark: 0 },
                c: { members: ["y"], staleAfterMs: 999 },
                d: { members: ["z"], staleAfterMs: 86_400_001 },
                e: null,
                f: {},
            })
        ).toEqual([
            'groups.json: groups.a.members: expected a list of device ids, got "pole-1"',
            "groups.json: groups.b.members[1]: expected a device id (a string), got 7",
            'groups.json: groups.b.rule: expected "majority" or "at-least", got "most"',
            "groups.json: groups.b.dark: expected a whole number, at least 1, got 0",
            'groups.json: groups.b.staleAfterMs: expected a whole number from 1000 to 86400000, got "30"',
            "groups.json: groups.b.minVoters: expected a whole number, at least 1, got 0.5",
            "groups.json: groups.c.staleAfterMs: expected a whole number from 1000 to 86400000, got 999",
            "groups.json: groups.d.staleAfterMs: expected a whole number from 1000 to 86400000, got 86400001",
            'groups.json: groups.e: expected a group such as {"members": ["pole-1", "pole-2"]}, got null',
            'groups.json: groups.f.members: missing: "members", the list of device ids in this group',
        ])
    })

    test("the document itself: not an object, no groups, groups not an object", () => {
        expect(problems("[]")).toEqual([
            'groups.json: expected an object such as {"groups": {"stadium": {...}}}, got []',
        ])
        expect(problems("{}")).toEqual(['groups.json: groups: missing: "groups", an object of groups by name'])
        expect(problems(`{"groups": ["a"]}`)).toEqual([
            'groups.json: groups: expected an object of groups by name, got ["a"]',
        ])
    })

    test("bad group names; a name that is not a plain word is quoted in the path", () => {
        const long = "g".repeat(65)
        expect(
            groupProblems({ "a/b": { members: ["x"] }, "": { members: ["y"] }, [long]: { members: ["z"] } })
        ).toEqual([
            'groups.json: groups["a/b"]: "a/b" is not a valid group name (1-64 letters, digits or _ . -, not only dots)',
            'groups.json: groups[""]: "" is not a valid group name (1-64 letters, digits or _ . -, not only dots)',
            `groups.json: groups.${long}: "${long.slice(0, 36)}... is not a valid group name (1-64 letters, digits or _ . -, not only dots)`,
        ])
        expect(groupProblems({ "north.stand": { members: ["x"], minVoters: 2 } })).toEqual([
            'groups.json: groups["north.stand"].minVoters: 2 is more than the group\'s 1 member: it could never decide',
        ])
        expect(formatPath(["groups", "stadium", "members", 3])).toBe("groups.stadium.members[3]")
    })

    test('"__proto__", which validation would drop without a word, is refused', () => {
        expect(problems(`{"groups": {"__proto__": {"members": ["x"]}}}`)).toEqual([
            "groups.json: groups.__proto__: is a reserved name",
        ])
    })

    test("a group (or key) given twice: JSON would silently keep only the second", () => {
        const text = `{
    "groups": {
        "stadium": { "members": ["a", "b"] },
        "stadium": { "members": ["c", "d"] }
    }
}`
        expect(problems(text)).toEqual([
            "groups.json: groups.stadium: given twice on lines 3 and 4; JSON would keep only the second",
        ])
        expect(problems(`{"groups": {"s": {"members": ["a"], "members": ["b"]}}}`)).toEqual([
            "groups.json: groups.s.members: given twice on line 1; JSON would keep only the second",
        ])
        expect(problems(`{"groups": {}, "list": [{"k": 1}, {"k": 1, "k": 2}]}`)).toEqual([
            "groups.json: list[1].k: given twice on line 1; JSON would keep only the second",
            "groups.json: list: unknown key (expected one of: groups)",
        ])
    })

    test("a thousand problems: the first 39, then how many more", () => {
        const lines = groupProblems({ a: { members: Array.from({ length: 1000 }, (_, i) => `bad/${i}`) } })
        expect(lines).toHaveLength(40)
        expect(lines[39]).toBe("groups.json: and 961 more problems")
    })

    test("the file name is the one given, on every line", () => {
        expect(
            problems(groupsJson({ a: { members: [] }, b: { members: ["x/"] } }), "/etc/nightlight/groups.json")
        ).toEqual([
            "/etc/nightlight/groups.json: groups.a.members: a group needs at least one member",
            '/etc/nightlight/groups.json: groups.b.members[0]: "x/" is not a valid device id (1-64 letters, digits or _ . : -, not only dots)',
        ])
    })
})

describe("parseGroups: JSON syntax errors with line and column", () => {
    test("the trailing comma shown in docs/groups.md", () => {
        const text = `{
    "groups": {
        "stadium": {
            "members": [
                "stadium-01",
                "stadium-02",
        ]
        }
    }
}`
        const expected =
            'groups.json: line 7, column 9: not valid JSON: a comma before "]" (JSON allows no trailing comma)'
        expect(problems(text)).toEqual([expected])
        expect(readFileSync("docs/groups.md", "utf8")).toContain(expected)
    })

    test("the usual slips of hand-written JSON", () => {
        const cases: [string, string][] = [
            [
                `{"groups": {"a": {"members": ["x"], "rule": majority}}}`,
                "line 1, column 45: not valid JSON: majority needs double quotes",
            ],
            [`{"groups": {'a': {}}}`, `line 1, column 13: not valid JSON: expected a key in double quotes`],
            [
                `{"groups": {"a": {"members": ['x']}}}`,
                `line 1, column 31: not valid JSON: unexpected "'" (JSON strings use double quotes)`,
            ],
            [`// stadium\n{"groups": {}}`, `line 1, column 1: not valid JSON: unexpected "/" (JSON has no comments)`],
            [
                `{"groups": /* none yet */ {}}`,
                `line 1, column 12: not valid JSON: unexpected "/" (JSON has no comments)`,
            ],
            [`{"groups" {}}`, `line 1, column 11: not valid JSON: expected ":" after the key`],
            [
                `{"groups": {"a": {"members": ["x"], "minVoters": 1.}}}`,
                `line 1, column 51: not valid JSON: expected "," or "}"`,
            ],
            [
                `{"groups": {"a\u0001": {}}}`,
                "line 1, column 15: not valid JSON: a line break or control character inside a string (write \\n)",
            ],
            [
                `{"groups": {"a": {"members": ["x"],}}}`,
                `line 1, column 36: not valid JSON: a comma before "}" (JSON allows no trailing comma)`,
            ],
            [
                `{"groups": {"a": {"members": ["x"] "rule": "majority"}}}`,
                `line 1, column 36: not valid JSON: expected "," or "}"`,
            ],
            [
                `{"groups": {"a": {"members": ["x"]}}`,
                `line 1, column 37: not valid JSON: the text ends too early (a "}" or "]" missing?)`,
            ],
            [`{"groups": {}}\n{"groups": {}}`, "line 2, column 1: not valid JSON: more text after the end of the JSON"],
            [
                `{"groups": {"a\nb": {}}}`,
                "line 1, column 15: not valid JSON: a line break or control character inside a string (write \\n)",
            ],
            [`{"groups": {"a": {"members": ["x]}}}`, `line 1, column 31: not valid JSON: this string has no closing "`],
            [
                `{"groups": {"a": {"members": ["\\x"]}}}`,
                "line 1, column 31: not valid JSON: a bad escape (\\) in this string",
            ],
            [`\n  \n`, 'the file is empty (expected {"groups": {...}})'],
            [`{\n"groups": {}}\n\n  x`, "line 4, column 3: not valid JSON: more text after the end of the JSON"],
        ]
        for (const [text, problem] of cases) expect(problems(text), text).toEqual([`groups.json: ${problem}`])
    })
})

describe("loadGroupsFile", () => {
    const dir = mkdtempSync(join(tmpdir(), "nightlight-groups-"))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    test("reads a file; its errors name the path as given", () => {
        const path = join(dir, "groups.json")
        writeFileSync(path, groupsJson({ a: { members: ["x", "y"], rule: "at-least", dark: 2 } }))
        expect(loadGroupsFile(path)).toEqual([
            { name: "a", members: ["x", "y"], rule: { kind: "at-least", dark: 2, staleAfterMs: 30_000, minVoters: 1 } },
        ])
        writeFileSync(path, groupsJson({ a: { members: ["x"], dark: 1 } }))
        expect(() => loadGroupsFile(path)).toThrow(
            `${path}: groups.a.dark: only used with the "at-least" rule, and this group's rule is "majority"`
        )
    })

    test("a missing file or a directory is a GroupsConfigError naming the path", () => {
        const missing = join(dir, "nope.json")
        expect(() => loadGroupsFile(missing)).toThrow(
            new GroupsConfigError(`${missing}: cannot read the groups file: no such file`)
        )
        const folder = join(dir, "folder")
        mkdirSync(folder)
        expect(() => loadGroupsFile(folder)).toThrow(
            new GroupsConfigError(`${folder}: cannot read the groups file: is a directory, not a file`)
        )
    })
})

describe("applyRulePatch (PATCH /api/groups/:name)", () => {
    const majority: GroupConfig = {
        name: "stadium",
        members: ten,
        rule: { kind: "majority", staleAfterMs: 30_000, minVoters: 4 },
    }
    const atLeastRule = { kind: "at-least", dark: 6, staleAfterMs: 30_000, minVoters: 4 } as const
    const atLeast: GroupConfig = { ...majority, rule: atLeastRule }
    const ok = (rule: GroupRule) => ({ ok: true, rule })
    const bad = (field: string, error: string) => ({ ok: false, field, error })

    test("any subset; the rest is kept", () => {
        expect(applyRulePatch(majority, {})).toEqual(ok(majority.rule))
        expect(applyRulePatch(majority, { staleAfterMs: 10_000 })).toEqual(
            ok({ ...majority.rule, staleAfterMs: 10_000 })
        )
        expect(applyRulePatch(atLeast, { minVoters: 6 })).toEqual(ok({ ...atLeastRule, minVoters: 6 }))
        expect(applyRulePatch(atLeast, { dark: 10 })).toEqual(ok({ ...atLeastRule, dark: 10 }))
    })

    test("switching kind: to at-least needs dark, to majority drops it", () => {
        expect(applyRulePatch(majority, { kind: "at-least", dark: 6 })).toEqual(ok(atLeast.rule))
        expect(applyRulePatch(atLeast, { kind: "majority" })).toEqual(ok(majority.rule))
        expect(applyRulePatch(majority, { kind: "at-least" })).toEqual(
            bad(
                "dark",
                'dark: missing: the "at-least" rule needs "dark", how many members must see dark to switch on (1 to 10)'
            )
        )
    })

    test("the merged rule is checked as a whole, naming the field", () => {
        expect(applyRulePatch(atLeast, { dark: 11 })).toEqual(
            bad("dark", "dark: 11 is more than the group's 10 members: it could never switch on")
        )
        expect(applyRulePatch(majority, { dark: 3 })).toEqual(
            bad("dark", 'dark: only used with the "at-least" rule, and this group\'s rule is "majority"')
        )
        expect(applyRulePatch(atLeast, { kind: "majority", dark: 3 })).toEqual(
            bad("dark", 'dark: only used with the "at-least" rule, and this group\'s rule is "majority"')
        )
        expect(applyRulePatch(majority, { minVoters: 11 })).toEqual(
            bad("minVoters", "minVoters: 11 is more than the group's 10 members: it could never decide")
        )
    })

    test("bad values, unknown fields and a body that is not an object", () => {
        expect(applyRulePatch(majority, { kind: "most" })).toEqual(
            bad("kind", 'kind: expected "majority" or "at-least", got "most"')
        )
        expect(applyRulePatch(majority, { staleAfterMs: 999 })).toEqual(
            bad("staleAfterMs", "staleAfterMs: expected a whole number from 1000 to 86400000, got 999")
        )
        expect(applyRulePatch(majority, { minVoters: "4" })).toEqual(
            bad("minVoters", 'minVoters: expected a whole number, at least 1, got "4"')
        )
        expect(applyRulePatch(majority, { staleAfterSeconds: 10 })).toEqual(
            bad("staleAfterSeconds", 'staleAfterSeconds: unknown field (did you mean "staleAfterMs"?)')
        )
        expect(applyRulePatch(majority, { members: [] })).toEqual(
            bad("members", "members: unknown field (expected one of: kind, dark, staleAfterMs, minVoters)")
        )
        for (const body of [null, [], "x", 3])
            expect(applyRulePatch(majority, body)).toEqual(
                bad("", `expected an object such as {"kind": "at-least", "dark": 6}, got ${JSON.stringify(body)}`)
            )
    })

    test("a saved rule is a valid patch: it still fits the group, or it is refused", () => {
        expect(applyRulePatch(majority, atLeast.rule)).toEqual(ok(atLeast.rule))
        const fewer = { ...majority, members: ten.slice(0, 5) }
        expect(applyRulePatch(fewer, atLeast.rule)).toMatchObject({ ok: false, field: "dark" })
    })
})

describe("parseGroups never fails in any other way", () => {
    test("2000 one-character corruptions of the example: a list of groups, or a GroupsConfigError that agrees with JSON.parse", () => {
        const original = readFileSync("examples/groups.json", "utf8")
        const alphabet = `{}[]",:. -_0123456789aeltrux\n\\'/`
        let seed = 42
        const random = (n: number) => {
            seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
            return seed % n
        }
        for (let run = 0; run < 2000; run++) {
            const at = random(original.length)
            const text =
                random(2) === 0
                    ? original.slice(0, at) + original.slice(at + 1)
                    : original.slice(0, at) + alphabet[random(alphabet.length)] + original.slice(at)
            let validJson = true
            try {
                JSON.parse(text)
            } catch {
                validJson = false
            }
            try {
                parseGroups(text, "groups.json")
                expect(validJson, text).toBe(true)
            } catch (error) {
                expect(error, text).toBeInstanceOf(GroupsConfigError)
                const message = (error as Error).message
                for (const line of message.split("\n")) expect(line).toMatch(/^groups\.json: /)
                expect(message.includes("not valid JSON"), text).toBe(!validJson)
            }
        }
    })

    test("deep nesting is a syntax error, not a stack overflow", () => {
        const deep = `{"groups": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`
        expect(problems(deep)).toEqual(["groups.json: line 1, column 44: not valid JSON: nested too deep"])
    })
})
