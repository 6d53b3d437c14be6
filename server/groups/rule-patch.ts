/**
 * A group's rule changed at run time (PATCH /api/groups/:name): the body in the API's form (ms, "kind"),
 * read with the file's pieces (schema.ts), reported in the file's words (problem-text.ts) and held to the
 * file's rules against the group's members (checks.ts), so no change makes a group the file would refuse.
 * Pure: the caller saves and applies the result.
 */
import { z } from "zod"
import type { GroupRule } from "../http/api-types"
import { ruleProblems, toRule, type LooseRule } from "./checks"
import { describeIssue, show } from "./problem-text"
import { RuleKind, STALE_AFTER_MS, wholeNumber, type GroupConfig } from "./schema"

/** The API's PATCH body: any subset of the rule, in the API's units (ms). */
const RulePatch = z.strictObject(
    {
        kind: RuleKind.optional(),
        dark: wholeNumber(1).optional(),
        staleAfterMs: wholeNumber(STALE_AFTER_MS.min, STALE_AFTER_MS.max).optional(),
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
