/** PATCH /api/groups/:name, held to the file's rules, so no change makes a group the file would refuse. Pure. */
import { z } from "zod"
import type { GroupRule } from "../http/api-types"
import { ruleProblems, toRule, type LooseRule } from "./checks"
import { describeIssue, show } from "./problem-text"
import { RuleKind, STALE_AFTER_MS, wholeNumber, type GroupConfig } from "./schema"

/** Any subset of the rule, in ms. */
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
 * `field` is "" when the body as a whole is wrong. Switching to "at-least" needs `dark` in the same
 * patch. A saved GroupRule is a valid patch: pass one to check it still fits the members.
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
