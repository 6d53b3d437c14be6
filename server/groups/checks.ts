/** The groups-file checks zod's shapes cannot express; rule-patch.ts runs the rule's, so a PATCH meets the file's. */
import type { GroupRule } from "../http/api-types"

/** A rule in the loose shape both the file and the API end up with, before it is a GroupRule. */
export interface LooseRule {
    kind: GroupRule["kind"]
    dark?: number
    minVoters: number
}

export interface PlacedProblem {
    path: (string | number)[]
    message: string
}

/** The checks that need the member count; `field` is the same in the file and the API. */
export function ruleProblems(rule: LooseRule, memberCount: number): { field: "dark" | "minVoters"; message: string }[] {
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

/** Each repeat of a member in one group, at the repeat, naming the first; paths from the group. */
export function duplicateMembers(members: string[]): PlacedProblem[] {
    const problems: PlacedProblem[] = []
    const firstAt = new Map<string, number>()
    members.forEach((id, i) => {
        const first = firstAt.get(id)
        if (first === undefined) firstAt.set(id, i)
        else problems.push({ path: ["members", i], message: `"${id}" is listed twice (also members[${first}])` })
    })
    return problems
}

/** Each device found in a group after another one; paths from the file. */
export function membersOfTwoGroups(groups: Record<string, { members: string[] }>): PlacedProblem[] {
    // A device takes commands from one decider: in two groups, two decisions would fight over its LED.
    const problems: PlacedProblem[] = []
    const groupOf = new Map<string, string>()
    for (const [name, group] of Object.entries(groups))
        group.members.forEach((id, i) => {
            const other = groupOf.get(id)
            if (other === undefined) groupOf.set(id, name)
            else if (other !== name)
                problems.push({
                    path: ["groups", name, "members", i],
                    message: `"${id}" is also a member of group "${other}" (a device votes in one group only)`,
                })
        })
    return problems
}

/** Only for a rule that passed ruleProblems: an "at-least" rule has its `dark`. */
export function toRule(rule: LooseRule, staleAfterMs: number): GroupRule {
    const { minVoters } = rule
    return rule.kind === "at-least"
        ? { kind: "at-least", dark: rule.dark ?? 0, staleAfterMs, minVoters }
        : { kind: "majority", staleAfterMs, minVoters }
}
