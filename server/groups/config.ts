/**
 * The groups file (docs/groups.md): which devices vote together, and by which rule. It is read once at
 * start-up and validated with zod; every problem is reported at once, one line each, naming the file,
 * the place in the JSON and what is wrong, so a typo in a stadium's config is found before the lights
 * misbehave. The same rule checks validate a change made at run time (PATCH /api/groups/:name).
 * Pure but for `loadGroupsFile`. JSON.parse neither locates every syntax error nor reports keys given
 * twice, so `scanJson` (json-scan.ts) walks the text first.
 */
import { readFileSync } from "node:fs"
import { z } from "zod"
import { scanJson } from "./json-scan"
import type { GroupRule } from "../api-types"
import { isValidDeviceId } from "../protocol"

export const GROUP_DEFAULTS = {
    /** "majority" follows the sensors that do report; "at-least" also needs `dark`. */
    rule: "majority" as GroupRule["kind"],
    /**
     * Seconds (ms in GroupRule) before a member's last reading stops counting. Our firmware reports at
     * least every 2 s, the lesson's device every 2 s (Wio Terminal) or 5 s (Raspberry Pi, virtual
     * device): the slowest may miss five reports in a row and still vote, and a dead sensor is out
     * within half a minute.
     */
    staleAfterSeconds: 30,
    /** Fewer fresh voters than this and the group keeps its state. */
    minVoters: 1,
}
/** staleAfterSeconds from 1 s to a day; in ms in GroupRule and the API. */
const STALE_SECONDS = { min: 1, max: 86_400 }
const RULE_KINDS = ["majority", "at-least"] as const

export interface GroupConfig {
    name: string
    members: string[]
    rule: GroupRule
}

/** A bad groups file: one line per problem, each naming the file, the place in the JSON and the problem. */
export class GroupsConfigError extends Error {
    override name = "GroupsConfigError"
}

const GROUP_NAME = /^[A-Za-z0-9_.-]{1,64}$/

export function isValidGroupName(name: string): boolean {
    return GROUP_NAME.test(name)
}
const DEVICE_ID_RULE = "1-64 letters, digits or _ . : -"
export const GROUP_NAME_RULE = "1-64 letters, digits or _ . -"

/** A value as the user wrote it, short enough for one line. */
function show(value: unknown): string {
    if (value === undefined) return "nothing"
    if (typeof value === "number" && !Number.isFinite(value)) return String(value)
    const text = JSON.stringify(value) ?? String(value)
    return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

function wholeNumber(min: number, max?: number) {
    const range = max === undefined ? `a whole number, at least ${min}` : `a whole number from ${min} to ${max}`
    const error = (issue: { input?: unknown }) => `expected ${range}, got ${show(issue.input)}`
    const atLeast = z.int({ error }).min(min, { error })
    return max === undefined ? atLeast : atLeast.max(max, { error })
}

const StaleAfterSeconds = (() => {
    const { min, max } = STALE_SECONDS
    const error = (issue: { input?: unknown }) => `expected seconds from ${min} to ${max}, got ${show(issue.input)}`
    return z.number({ error }).min(min, { error }).max(max, { error })
})()

const RuleKind = z.enum(RULE_KINDS, { error: issue => `expected "majority" or "at-least", got ${show(issue.input)}` })

const DeviceId = z
    .string({ error: issue => `expected a device id (a string), got ${show(issue.input)}` })
    .refine(isValidDeviceId, {
        error: issue => `${show(issue.input)} is not a valid device id (${DEVICE_ID_RULE})`,
    })

const GroupName = z.string().refine(name => GROUP_NAME.test(name), {
    error: issue => `${show(issue.input)} is not a valid group name (${GROUP_NAME_RULE})`,
})

/** A rule in the loose shape both the file and the API end up with, before it is a GroupRule. */
interface LooseRule {
    kind: GroupRule["kind"]
    dark?: number
    minVoters: number
}

/** The checks that need the member count; `field` is the same in the file and the API. */
function ruleProblems(rule: LooseRule, memberCount: number): { field: "dark" | "minVoters"; message: string }[] {
    const problems: { field: "dark" | "minVoters"; message: string }[] = []
    const members = `${memberCount} member${memberCount === 1 ? "" : "s"}`
    if (rule.kind === "at-least") {
        if (rule.dark === undefined)
            problems.push({
                field: "dark",
                message: `missing: the "at-least" rule needs "dark", how many members must see dark to switch on (1 to ${memberCount})`,
            })
        else if (rule.dark > memberCount)
            problems.push({
                field: "dark",
                message: `${rule.dark} is more than the group's ${members}: it could never switch on`,
            })
    } else if (rule.dark !== undefined) {
        problems.push({
            field: "dark",
            message: `only used with the "at-least" rule, and this group's rule is "majority"`,
        })
    }
    if (rule.minVoters > memberCount)
        problems.push({
            field: "minVoters",
            message: `${rule.minVoters} is more than the group's ${members}: it could never decide`,
        })
    return problems
}

const GroupEntry = z
    .strictObject(
        {
            members: z
                .array(DeviceId, {
                    error: issue =>
                        issue.input === undefined
                            ? `missing: "members", the list of device ids in this group`
                            : `expected a list of device ids, got ${show(issue.input)}`,
                })
                .min(1, { error: "a group needs at least one member" }),
            rule: RuleKind.default(GROUP_DEFAULTS.rule),
            dark: wholeNumber(1).optional(),
            staleAfterSeconds: StaleAfterSeconds.default(GROUP_DEFAULTS.staleAfterSeconds),
            minVoters: wholeNumber(1).default(GROUP_DEFAULTS.minVoters),
        },
        { error: issue => `expected a group such as {"members": ["pole-1", "pole-2"]}, got ${show(issue.input)}` }
    )
    .superRefine((group, ctx) => {
        const firstAt = new Map<string, number>()
        group.members.forEach((id, i) => {
            const first = firstAt.get(id)
            if (first === undefined) firstAt.set(id, i)
            else
                ctx.addIssue({
                    code: "custom",
                    path: ["members", i],
                    message: `"${id}" is listed twice (also members[${first}])`,
                })
        })
        // With no members, "a group needs at least one member" says it all.
        if (group.members.length > 0)
            for (const { field, message } of ruleProblems({ ...group, kind: group.rule }, group.members.length))
                ctx.addIssue({ code: "custom", path: [field], message })
    })

const GroupsFile = z
    .strictObject(
        {
            groups: z.record(GroupName, GroupEntry, {
                error: issue =>
                    issue.input === undefined
                        ? `missing: "groups", an object of groups by name`
                        : `expected an object of groups by name, got ${show(issue.input)}`,
            }),
        },
        { error: issue => `expected an object such as {"groups": {"stadium": {...}}}, got ${show(issue.input)}` }
    )
    .superRefine((file, ctx) => {
        // A device takes commands from one decider: in two groups, two decisions would fight over its LED.
        const groupOf = new Map<string, string>()
        for (const [name, group] of Object.entries(file.groups))
            group.members.forEach((id, i) => {
                const other = groupOf.get(id)
                if (other === undefined) groupOf.set(id, name)
                else if (other !== name)
                    ctx.addIssue({
                        code: "custom",
                        path: ["groups", name, "members", i],
                        message: `"${id}" is also a member of group "${other}" (a device votes in one group only)`,
                    })
            })
    })

const FILE_KEYS = { top: ["groups"], group: Object.keys(GroupEntry.shape) }
/** Most problems reported at once. */
const MAX_LINES = 40
/** Keys of the other form (the API's ms, the file's seconds) that users will carry over. */
const FILE_ALIASES: Record<string, string> = { kind: "rule", staleAfterMs: "staleAfterSeconds" }

/** Parses and validates a groups file's text; `source` (the file name) starts every error line. */
export function parseGroups(text: string, source: string): GroupConfig[] {
    // Editors on Windows like to start a UTF-8 file with a byte-order mark, which JSON.parse rejects.
    const json = text.replace(/^\uFEFF/, "")
    const scanned = scanJson(json)
    if (scanned.syntaxError) throw new GroupsConfigError(`${source}: ${scanned.syntaxError}`)
    const lines = scanned.problems.map(atPath)
    let value: unknown
    try {
        value = JSON.parse(json)
    } catch (error) {
        // Only if scanJson let through something JSON.parse does not: say what JSON.parse said.
        throw new GroupsConfigError(`${source}: not valid JSON: ${(error as Error).message}`)
    }
    const parsed = GroupsFile.safeParse(value)
    if (!parsed.success)
        for (const issue of parsed.error.issues) {
            const allowed = issue.path.length === 0 ? FILE_KEYS.top : FILE_KEYS.group
            lines.push(...describeIssue(issue, allowed, FILE_ALIASES).map(atPath))
        }
    if (lines.length > 0 || !parsed.success) {
        // A generated file gone wrong can have thousands of problems; the first screenful is enough.
        const shown =
            lines.length > MAX_LINES
                ? [...lines.slice(0, MAX_LINES - 1), `and ${lines.length - MAX_LINES + 1} more problems`]
                : lines
        throw new GroupsConfigError(shown.map(line => `${source}: ${line}`).join("\n"))
    }
    return Object.entries(parsed.data.groups).map(([name, g]) => ({
        name,
        members: g.members,
        rule: toRule({ kind: g.rule, dark: g.dark, minVoters: g.minVoters }, Math.round(g.staleAfterSeconds * 1000)),
    }))
}

/** Reads and parses a groups file; a file that cannot be read is a GroupsConfigError naming the path. */
export function loadGroupsFile(path: string): GroupConfig[] {
    let text: string
    try {
        text = readFileSync(path, "utf8")
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        const why =
            code === "ENOENT"
                ? "no such file"
                : code === "EISDIR"
                  ? "is a directory, not a file"
                  : code === "EACCES"
                    ? "permission denied"
                    : String((error as Error).message)
        throw new GroupsConfigError(`${path}: cannot read the groups file: ${why}`)
    }
    return parseGroups(text, path)
}

/** The API's PATCH body: any subset of the rule, in the API's units (ms). */
const RulePatch = z.strictObject(
    {
        kind: RuleKind.optional(),
        dark: wholeNumber(1).optional(),
        staleAfterMs: wholeNumber(STALE_SECONDS.min * 1000, STALE_SECONDS.max * 1000).optional(),
        minVoters: wholeNumber(1).optional(),
    },
    { error: issue => `expected an object such as {"kind": "at-least", "dark": 6}, got ${show(issue.input)}` }
)
const PATCH_KEYS = Object.keys(RulePatch.shape)
const PATCH_ALIASES: Record<string, string> = { rule: "kind", staleAfterSeconds: "staleAfterMs" }

export type RulePatchResult = { ok: true; rule: GroupRule } | { ok: false; field: string; error: string }

/**
 * A group's rule with a PATCH applied, validated as a whole with the file's checks. `field` names the
 * offending field ("" when the body as a whole is wrong); `error` starts with it. Switching to
 * "majority" drops `dark`; switching to "at-least" needs `dark` in the same patch. A saved GroupRule is a
 * valid patch too: pass one to check that it still fits the group's members.
 */
export function applyRulePatch(group: GroupConfig, patch: unknown): RulePatchResult {
    const parsed = RulePatch.safeParse(patch)
    if (!parsed.success) {
        const issue = parsed.error.issues[0]
        const problem = describeIssue(issue, PATCH_KEYS, PATCH_ALIASES)[0]
        const field = String(problem.path[0] ?? "")
        const message = problem.message.replace(/^unknown key/, "unknown field")
        return { ok: false, field, error: field === "" ? message : `${field}: ${message}` }
    }
    const { kind = group.rule.kind, ...change } = parsed.data
    const current = group.rule
    const merged: LooseRule = {
        kind,
        dark: change.dark ?? (kind === "at-least" && current.kind === "at-least" ? current.dark : undefined),
        minVoters: change.minVoters ?? current.minVoters,
    }
    const problem = ruleProblems(merged, group.members.length)[0]
    if (problem) return { ok: false, field: problem.field, error: `${problem.field}: ${problem.message}` }
    return { ok: true, rule: toRule(merged, change.staleAfterMs ?? current.staleAfterMs) }
}

/** A rule as the file writes it (seconds, "rule"), e.g. for a log line or to copy into the file. */
export function ruleToFile(rule: GroupRule): {
    rule: GroupRule["kind"]
    dark?: number
    staleAfterSeconds: number
    minVoters: number
} {
    const dark = rule.kind === "at-least" ? { dark: rule.dark } : {}
    return { rule: rule.kind, ...dark, staleAfterSeconds: rule.staleAfterMs / 1000, minVoters: rule.minVoters }
}

/** Only for a rule that passed ruleProblems: an "at-least" rule has its `dark`. */
function toRule(rule: LooseRule, staleAfterMs: number): GroupRule {
    const { minVoters } = rule
    return rule.kind === "at-least"
        ? { kind: "at-least", dark: rule.dark ?? 0, staleAfterMs, minVoters }
        : { kind: "majority", staleAfterMs, minVoters }
}

/** `groups.stadium.members[3]`; a key that is not a plain word is quoted: `groups["north.stand"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
    let out = ""
    for (const key of path) {
        if (typeof key === "number") out += `[${key}]`
        else if (/^[A-Za-z0-9_-]+$/.test(String(key))) out += out === "" ? String(key) : `.${String(key)}`
        else out += `[${JSON.stringify(String(key))}]`
    }
    return out
}

/** One zod issue as the user's problems, each with its place (one per unknown key). */
function describeIssue(
    issue: z.core.$ZodIssue,
    allowedKeys: string[],
    aliases: Record<string, string>
): { path: PropertyKey[]; message: string }[] {
    if (issue.code === "unrecognized_keys")
        return issue.keys.map(key => ({
            path: [...issue.path, key],
            message: `unknown key (${suggestKey(key, allowedKeys, aliases)})`,
        }))
    if (issue.code === "invalid_key") return [{ path: issue.path, message: issue.issues[0]?.message ?? issue.message }]
    return [{ path: issue.path, message: issue.message }]
}

/** "path: problem", or the problem alone when it is about the whole document. */
function atPath(problem: { path: readonly PropertyKey[]; message: string }): string {
    return problem.path.length === 0 ? problem.message : `${formatPath(problem.path)}: ${problem.message}`
}

function suggestKey(key: string, allowed: string[], aliases: Record<string, string>): string {
    const alias = Object.hasOwn(aliases, key) ? aliases[key] : undefined
    // Close enough to be a typo: a few letters off (more for longer keys), or a shortened key.
    const typos = Math.max(2, Math.floor(key.length / 4))
    const near =
        alias ??
        allowed.find(k => editDistance(k.toLowerCase(), key.toLowerCase()) <= typos) ??
        allowed.find(k => key.length >= 4 && k.startsWith(key))
    return near !== undefined ? `did you mean "${near}"?` : `expected one of: ${allowed.join(", ")}`
}

function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
    for (let i = 1; i <= a.length; i++) {
        const row = [i]
        for (let j = 1; j <= b.length; j++)
            row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
        previous = row
    }
    return previous[b.length]
}
