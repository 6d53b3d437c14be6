/**
 * The groups file (docs/groups.md), every problem reported at once, so a typo is found before the lights
 * misbehave. JSON.parse neither locates every syntax error nor reports duplicate keys: scanJson reads first.
 */
import { readFileSync } from "node:fs"
import type { GroupRule } from "../http/api-types"
import { toRule } from "./checks"
import { scanJson } from "./json-scan"
import { atPath, describeIssue } from "./problem-text"
import { GroupEntry, GroupsFile, type GroupConfig } from "./schema"

export { formatPath } from "./problem-text"
export { applyRulePatch, type RulePatchResult } from "./rule-patch"
export { GROUP_DEFAULTS, GROUP_NAME_RULE, isValidGroupName, type GroupConfig } from "./schema"

export class GroupsConfigError extends Error {
    override name = "GroupsConfigError"
}

// staleAfterSeconds: a key of old files, refused with its own message (schema.ts), not one to suggest
const FILE_KEYS = { top: ["groups"], group: Object.keys(GroupEntry.shape).filter(k => k !== "staleAfterSeconds") }
const MAX_LINES = 40
/** Keys of the API's form that users will carry over. */
const FILE_ALIASES: Record<string, string> = { kind: "rule" }

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
        rule: toRule({ kind: g.rule, dark: g.dark, minVoters: g.minVoters }, g.staleAfterMs),
    }))
}

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

/** A rule as the file writes it ("rule" for "kind"), e.g. for a log line or to copy into the file. */
export function ruleToFile(rule: GroupRule): {
    rule: GroupRule["kind"]
    dark?: number
    staleAfterMs: number
    minVoters: number
} {
    const dark = rule.kind === "at-least" ? { dark: rule.dark } : {}
    return { rule: rule.kind, ...dark, staleAfterMs: rule.staleAfterMs, minVoters: rule.minVoters }
}
