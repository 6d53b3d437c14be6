/** Votes and tells the members, the same way on every occasion (a reading, offline, new settings or rule). */
import type { GroupView, RuleSettings } from "../http/api-types"
import type { CommandSender } from "../controller/commands"
import type { DeviceStates } from "../controller/device-states"
import type { CommandReason } from "../device/types"
import type { GroupStates, MemberLookup } from "./state"
import type { Logger } from "../util/logger"

export interface GroupCoordinatorOptions {
    groups: GroupStates
    devices: DeviceStates
    /** Live, not copied. */
    rules: RuleSettings
    /** A member's own effective threshold and band (its config); absent: `rules` for every member. */
    ruleOf?: (deviceId: string) => RuleSettings
    log: Logger
    commands: CommandSender
    voted: (view: GroupView | undefined) => void
}

export class GroupCoordinator {
    constructor(private readonly o: GroupCoordinatorOptions) {}

    groupOf(deviceId: string): string | undefined {
        return this.o.groups.groupOf(deviceId)
    }

    /** The group votes; nobody is told yet (a member's reading: its own decision is the vote). */
    vote(group: string, now: number): { ledOn?: boolean; changed: boolean } {
        return this.o.groups.vote(group, this.memberLookup, this.o.rules, now)
    }

    /** After vote(): on a new decision every member but `except` is told; the vote is announced. */
    voted(group: string, now: number, changed: boolean, reason: CommandReason, except?: string): void {
        if (changed) this.tellMembers(group, now, reason, except)
        this.o.voted(this.o.groups.view(group))
    }

    revote(group: string, now: number, reason: CommandReason): void {
        this.voted(group, now, this.vote(group, now).changed, reason)
    }

    private tellMembers(group: string, now: number, reason: CommandReason, except?: string): void {
        const { groups, devices } = this.o
        const vote = groups.view(group)?.ledOn
        if (vote === null || vote === undefined) return
        this.o.log.info(`group ${group}: LED ${vote ? "on" : "off"} for every member`)
        for (const id of groups.members(group)) {
            const state = devices.get(id)
            if (id !== except && state) this.o.commands.send(id, state.decide(vote, now, reason))
        }
    }

    private readonly memberLookup: MemberLookup = id => {
        const state = this.o.devices.get(id)
        if (!state) return undefined
        const s = state.snapshot()
        const rule = this.o.ruleOf?.(id)
        return {
            state: { light: s.lastLight, lightAt: s.lastLightAt, online: s.online, ...rule },
            auto: state.autoState(),
        }
    }
}
