/** The groups file's shape in zod (docs/groups.md), and a rule's defaults and limits (ms). Pure. */
import { z } from "zod"
import type { GroupRule } from "../http/api-types"
import { DEVICE_ID_RULE, isValidDeviceId } from "../protocol/contract"
import { duplicateMembers, membersOfTwoGroups, ruleProblems } from "./checks"
import { show } from "./problem-text"

export const GROUP_DEFAULTS = {
    /** "majority" follows the sensors that do report; "at-least" also needs `dark`. */
    rule: "majority" as GroupRule["kind"],
    /** ms; the slowest device (5 s) may miss five reports and still vote; a dead sensor is out in 30 s. */
    staleAfterMs: 30_000,
    /** Fewer fresh voters than this and the group keeps its state. */
    minVoters: 1,
}
/** staleAfterMs: from 1 s to a day, in ms (the file's unit, GroupRule's and the API's). */
export const STALE_AFTER_MS = { min: 1000, max: 86_400_000 }
const RULE_KINDS = ["majority", "at-least"] as const

export interface GroupConfig {
    name: string
    members: string[]
    rule: GroupRule
}

/** Not only dots: the API puts the name in a URL (`/api/groups/<name>`), where "." and ".." fold away. */
const GROUP_NAME = /^(?!\.+$)[A-Za-z0-9_.-]{1,64}$/

export function isValidGroupName(name: string): boolean {
    return GROUP_NAME.test(name)
}
export const GROUP_NAME_RULE = "1-64 letters, digits or _ . -, not only dots"

export function wholeNumber(min: number, max?: number) {
    const range = max === undefined ? `a whole number, at least ${min}` : `a whole number from ${min} to ${max}`
    const error = (issue: { input?: unknown }) => `expected ${range}, got ${show(issue.input)}`
    const atLeast = z.int({ error }).min(min, { error })
    return max === undefined ? atLeast : atLeast.max(max, { error })
}

/**
 * The file's key before it counted in ms like the API (`staleAfterSeconds`): refused with the line to
 * write instead, so an old file is fixed in one step rather than read in the wrong unit.
 */
function renamedStaleAfter(seconds: unknown): string {
    const ms = typeof seconds === "number" && Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined
    const write = ms === undefined ? "" : `: write "staleAfterMs": ${ms}`
    return `now "staleAfterMs", in milliseconds as in the API${write}`
}

export const RuleKind = z.enum(RULE_KINDS, {
    error: issue => `expected "majority" or "at-least", got ${show(issue.input)}`,
})

const DeviceId = z
    .string({ error: issue => `expected a device id (a string), got ${show(issue.input)}` })
    .refine(isValidDeviceId, {
        error: issue => `${show(issue.input)} is not a valid device id (${DEVICE_ID_RULE})`,
    })

const GroupName = z.string().refine(name => GROUP_NAME.test(name), {
    error: issue => `${show(issue.input)} is not a valid group name (${GROUP_NAME_RULE})`,
})

export const GroupEntry = z
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
            staleAfterMs: wholeNumber(STALE_AFTER_MS.min, STALE_AFTER_MS.max).default(GROUP_DEFAULTS.staleAfterMs),
            staleAfterSeconds: z.unknown().optional(),
            minVoters: wholeNumber(1).default(GROUP_DEFAULTS.minVoters),
        },
        { error: issue => `expected a group such as {"members": ["pole-1", "pole-2"]}, got ${show(issue.input)}` }
    )
    .superRefine((group, ctx) => {
        for (const { path, message } of duplicateMembers(group.members)) ctx.addIssue({ code: "custom", path, message })
        if (group.staleAfterSeconds !== undefined)
            ctx.addIssue({
                code: "custom",
                path: ["staleAfterSeconds"],
                message: renamedStaleAfter(group.staleAfterSeconds),
            })
        // With no members, "a group needs at least one member" says it all.
        if (group.members.length > 0)
            for (const { field, message } of ruleProblems({ ...group, kind: group.rule }, group.members.length))
                ctx.addIssue({ code: "custom", path: [field], message })
    })

export const GroupsFile = z
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
        for (const { path, message } of membersOfTwoGroups(file.groups)) ctx.addIssue({ code: "custom", path, message })
    })
