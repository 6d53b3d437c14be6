/** Each group's members, decision, votes and (run-time changeable) rule; the vote itself is vote.ts. */
import type { GroupRule, GroupView, GroupVotes, RuleSettings } from "../http/api-types"
import type { GroupConfig } from "./config"
import { groupDecision, type MemberState } from "./vote"

interface Group {
    name: string
    members: string[]
    rule: GroupRule
    ledOn: boolean | undefined
    votes: GroupVotes
}

/** What a member's state says about it, for the vote; undefined for a device the server never heard. */
export type MemberLookup = (
    deviceId: string
) => { state: Omit<MemberState, "id">; auto: boolean | undefined } | undefined

export class GroupStates {
    private readonly groups = new Map<string, Group>()
    private readonly groupOfDevice = new Map<string, string>()

    constructor(configs: readonly GroupConfig[] = []) {
        for (const c of configs) {
            const votes: GroupVotes = {
                voters: 0,
                dark: 0,
                notVoting: c.members.map(id => ({ id, why: "no_reading" })),
            }
            this.groups.set(c.name, { name: c.name, members: [...c.members], rule: c.rule, ledOn: undefined, votes })
            for (const id of c.members) this.groupOfDevice.set(id, c.name)
        }
    }

    groupOf(deviceId: string): string | undefined {
        return this.groupOfDevice.get(deviceId)
    }

    names(): string[] {
        return [...this.groups.keys()]
    }

    members(name: string): readonly string[] {
        return this.groups.get(name)?.members ?? []
    }

    config(name: string): GroupConfig | undefined {
        const g = this.groups.get(name)
        return g && { name: g.name, members: [...g.members], rule: g.rule }
    }

    setRule(name: string, rule: GroupRule): boolean {
        const g = this.groups.get(name)
        if (!g) return false
        g.rule = rule
        return true
    }

    /**
     * A first decision starts from most members' LEDs, so hysteresis holds across a restart; but only a
     * quorum decides, or a member switched by hand would speak for the group.
     */
    vote(name: string, lookup: MemberLookup, rules: RuleSettings, now: number): { ledOn?: boolean; changed: boolean } {
        const g = this.groups.get(name)
        if (!g) return { changed: false }
        const members: MemberState[] = []
        let on = 0
        let known = 0
        for (const id of g.members) {
            const m = lookup(id)
            members.push({ id, ...m?.state, light: m?.state.light, lightAt: m?.state.lightAt, online: m?.state.online })
            if (m?.auto !== undefined) {
                known++
                if (m.auto) on++
            }
        }
        const current = g.ledOn ?? (known > 0 ? on * 2 > known : undefined)
        const result = groupDecision(g.rule, members, current, rules.threshold, rules.band, now)
        g.votes = result.votes
        const before = g.ledOn
        if (before !== undefined || result.votes.voters >= g.rule.minVoters) g.ledOn = result.ledOn
        return { ledOn: g.ledOn, changed: g.ledOn !== before && g.ledOn !== undefined }
    }

    view(name: string): GroupView | undefined {
        const g = this.groups.get(name)
        if (!g) return undefined
        return {
            name: g.name,
            members: [...g.members],
            rule: g.rule,
            ledOn: g.ledOn ?? null,
            votes: { ...g.votes, notVoting: [...g.votes.notVoting] },
        }
    }
}
