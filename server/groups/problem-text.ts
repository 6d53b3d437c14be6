/** How a problem in the groups file or a PATCH body reads, the same wherever it is made. Pure. */
import type { z } from "zod"

export function show(value: unknown): string {
    if (value === undefined) return "nothing"
    if (typeof value === "number" && !Number.isFinite(value)) return String(value)
    const text = JSON.stringify(value) ?? String(value)
    return text.length > 40 ? `${text.slice(0, 37)}...` : text
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
export function describeIssue(
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

export function atPath(problem: { path: readonly PropertyKey[]; message: string }): string {
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
