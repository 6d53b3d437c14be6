/**
 * How a group decides together (docs/groups.md), so one sensor shaded by a cloud does not switch the
 * stadium. Pure: `now` comes in.
 */
import type { GroupRule, GroupVotes, NotVotingReason } from "../http/api-types"

/** What the server knows of one member; times are ms since 1970 (server clock). */
export interface MemberState {
    id: string
    light: number | undefined
    lightAt: number | undefined
    /** From `<id>/status`. undefined: the device never said (the lesson's device): it still votes. */
    online: boolean | undefined
    /** Its own effective threshold and band (fleet, group, device config); absent: the group's call's. */
    threshold?: number
    band?: number
}

export interface GroupDecision {
    /** undefined only while it never had enough voters. */
    ledOn: boolean | undefined
    votes: GroupVotes
}

export function notVotingReason(member: MemberState, staleAfterMs: number, now: number): NotVotingReason | undefined {
    // A device that said "offline" (or whose will did) may still have a fresh-looking last reading.
    if (member.online === false) return "offline"
    if (member.light === undefined || member.lightAt === undefined) return "no_reading"
    if (now - member.lightAt > staleAfterMs) return "stale"
    return undefined
}

/** `threshold` and `band` are the single-device rule (RuleSettings), for members without their own. */
export function groupDecision(
    rule: GroupRule,
    members: readonly MemberState[],
    current: boolean | undefined,
    threshold: number,
    band: number,
    now: number
): GroupDecision {
    // The band works for each vote as it does for one device: while the group is on, its own lights
    // shine on the sensors, so a member stays "dark" until its light reaches threshold + band. Relative
    // to the group's state, not the member's. Each member counts by its own effective threshold and band
    // (docs/groups.md): the line it would switch by alone.
    const notVoting: GroupVotes["notVoting"] = []
    let voters = 0
    let dark = 0
    for (const member of members) {
        const why = notVotingReason(member, rule.staleAfterMs, now)
        if (why !== undefined) {
            notVoting.push({ id: member.id, why })
            continue
        }
        voters++
        const t = member.threshold ?? threshold
        const darkBelow = current === true ? t + (member.band ?? band) : t
        if ((member.light as number) < darkBelow) dark++
    }
    const votes = { voters, dark, notVoting }
    // Too few voters (a network outage, sensors switched off): keep the lights as they are.
    if (voters < rule.minVoters) return { ledOn: current, votes }
    return { ledOn: decide(rule, voters, dark, current), votes }
}

function decide(rule: GroupRule, voters: number, dark: number, current: boolean | undefined): boolean {
    if (rule.kind === "at-least") return dark >= rule.dark
    // A tie keeps the state: 5 of 10 dark neither switches the lights on nor off.
    if (dark * 2 > voters) return true
    if (dark * 2 < voters) return false
    return current ?? false
}
