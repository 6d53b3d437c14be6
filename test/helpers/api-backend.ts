/**
 * An in-memory ApiBackend for testing the HTTP layer (and for looking at the dashboard by hand): it
 * keeps devices, groups, settings and readings in maps, records every call, emits live events on
 * demand, and can be told to fail, so tests see exactly what the HTTP layer asked and answered.
 */
import {
    ApiProblem,
    type ApiBackend,
    type DeviceConfigDeviceView,
    type DeviceConfigGroupView,
    type DeviceConfigOverride,
    type DeviceConfigOverridePatch,
    type DeviceConfigPatch,
    type DeviceConfigResponse,
    type DevicePageResponse,
    type DeviceQuery,
    type DeviceView,
    type GroupRule,
    type GroupRulePatch,
    type GroupView,
    type HistoryCommand,
    type HistoryPoint,
    type HistoryResponse,
    type LiveEvent,
    type RuleSettings,
    type RuleSettingsPatch,
    type SimLight,
    type SimLightResponse,
    type StatsResponse,
    type SummaryResponse,
} from "../../server/http/api-types"
import { FLEET, countStates, pageOf, type DeviceFlags, type FleetFacts } from "../../server/http/fleet"

export interface BackendCall {
    method: keyof ApiBackend
    args: unknown[]
}

export function deviceView(id: string, fields: Partial<DeviceView> = {}): DeviceView {
    return {
        id,
        online: true,
        firstSeen: 0,
        lastSeen: 0,
        light: null,
        lightAt: null,
        ledOn: null,
        reportedLed: null,
        decider: "server",
        group: null,
        lastCommand: null,
        simulated: false,
        ...fields,
    }
}

export class MemoryBackend implements ApiBackend {
    readonly calls: BackendCall[] = []
    readonly deviceMap = new Map<string, DeviceView>()
    readonly groupMap = new Map<string, GroupView>()
    readonly readings = new Map<string, HistoryPoint[]>()
    readonly commandLog = new Map<string, HistoryCommand[]>()
    currentSettings: RuleSettings = { threshold: 300, band: 100 }
    currentDeviceConfig: DeviceConfigResponse = {
        version: 1,
        threshold: 300,
        band: 100,
        reportMs: 2000,
        minChange: 20,
        localAfterMs: 10000,
    }
    /** What stats() answers; tests set the counters they show. */
    counters: Omit<StatsResponse, "http"> = { server: { received: 0 }, rejected: {}, broker: null }
    /** Devices whose readings the tests call lost (readings_lost). */
    readonly lost = new Set<string>()
    /** Makes every call of this method throw this error until cleared. */
    failing?: { method: keyof ApiBackend; error: Error }
    private readonly listeners = new Set<(event: LiveEvent) => void>()

    get subscribers(): number {
        return this.listeners.size
    }

    /** Sends an event to every subscriber, as the real backend would on a change. */
    emit(event: LiveEvent): void {
        for (const listener of this.listeners) listener(event)
    }

    addDevice(id: string, fields: Partial<DeviceView> = {}): DeviceView {
        const device = deviceView(id, fields)
        this.deviceMap.set(id, device)
        return device
    }

    addGroup(name: string, members: string[], rule: GroupRule, fields: Partial<GroupView> = {}): GroupView {
        const group: GroupView = {
            name,
            members,
            rule,
            ledOn: null,
            votes: { voters: 0, dark: 0, notVoting: [] },
            ...fields,
        }
        this.groupMap.set(name, group)
        return group
    }

    /** Stores a reading, updates the device and emits "reading" and "device". */
    addReading(id: string, t: number, light: number, led: boolean | null = null): void {
        const list = this.readings.get(id) ?? []
        list.push({ t, light, led })
        this.readings.set(id, list)
        const device = this.deviceMap.get(id) ?? this.addDevice(id, { firstSeen: t })
        const updated = { ...device, light, lightAt: t, lastSeen: t, reportedLed: led ?? device.reportedLed }
        this.deviceMap.set(id, updated)
        this.emit({ type: "reading", deviceId: id, t, light, led })
        this.emit({ type: "device", device: updated })
    }

    addCommand(id: string, t: number, ledOn: boolean, reason: string): void {
        const list = this.commandLog.get(id) ?? []
        list.push({ t, ledOn, reason })
        this.commandLog.set(id, list)
        const device = this.deviceMap.get(id)
        if (device) this.deviceMap.set(id, { ...device, ledOn, lastCommand: { ledOn, at: t, reason } })
        this.emit({ type: "command", deviceId: id, t, ledOn, reason })
    }

    stats(): Omit<StatsResponse, "http"> {
        this.record("stats", [])
        return this.counters
    }

    devices(): DeviceView[] {
        this.record("devices", [])
        return [...this.deviceMap.values()]
    }

    devicePage(query: DeviceQuery, now: number): DevicePageResponse {
        this.record("devicePage", [query, now])
        const { total, page } = pageOf(this.facts(), query, now, this.flags())
        const devices = page.map(d => this.deviceMap.get(d.id)!)
        return { devices, total, offset: query.offset, limit: query.limit }
    }

    summary(now: number): SummaryResponse {
        this.record("summary", [now])
        const { devices, counts } = countStates(this.facts(), now, this.flags())
        const groups = [...this.groupMap.values()].map(g => ({
            name: g.name,
            members: g.members.length,
            ledOn: g.ledOn,
            voters: g.votes.voters,
            dark: g.votes.dark,
        }))
        const configVersion = this.currentDeviceConfig.version
        return { devices, counts, staleAfterMs: FLEET.staleAfterMs, at: now, configVersion, groups }
    }

    /** readings_lost: the ids in `lost`; config_old: what the views' configVersion and configError say. */
    private flags(): DeviceFlags {
        const version = this.currentDeviceConfig.version
        return {
            readingsLost: id => this.lost.has(id),
            configOld: id => {
                const d = this.deviceMap.get(id)
                return d?.configVersion != null
                    ? d.configVersion < version || d.configError != null
                    : d?.configError != null
            },
        }
    }

    private facts(): FleetFacts[] {
        return [...this.deviceMap.values()].map(d => ({ ...d, local: d.decider === "device" }))
    }

    device(id: string): DeviceView | undefined {
        this.record("device", [id])
        return this.deviceMap.get(id)
    }

    history(id: string, from: number, to: number, points: number): HistoryResponse | undefined {
        this.record("history", [id, from, to, points])
        if (!this.deviceMap.has(id)) return undefined
        const inRange = (this.readings.get(id) ?? []).filter(r => r.t >= from && r.t <= to)
        const bucketMs = inRange.length > points ? Math.ceil((to - from + 1) / points) : 0
        return {
            device: id,
            from,
            to,
            bucketMs,
            readings: bucketMs === 0 ? inRange : buckets(inRange, from, bucketMs),
            commands: (this.commandLog.get(id) ?? []).filter(c => c.t >= from && c.t <= to),
            settings: this.currentSettings,
        }
    }

    groups(): GroupView[] {
        this.record("groups", [])
        return [...this.groupMap.values()]
    }

    updateGroupRule(name: string, patch: GroupRulePatch): GroupView | undefined {
        this.record("updateGroupRule", [name, patch])
        const group = this.groupMap.get(name)
        if (!group) return undefined
        const merged = { ...group.rule, ...patch }
        let rule: GroupRule
        if (merged.kind === "at-least") {
            const dark = "dark" in merged ? merged.dark : undefined
            if (dark === undefined) throw new ApiProblem(400, 'dark is required for the rule "at-least"', "dark")
            if (dark > group.members.length)
                throw new ApiProblem(400, `dark must not exceed the ${group.members.length} members`, "dark")
            rule = { kind: "at-least", dark, staleAfterMs: merged.staleAfterMs, minVoters: merged.minVoters }
        } else rule = { kind: "majority", staleAfterMs: merged.staleAfterMs, minVoters: merged.minVoters }
        const updated = { ...group, rule }
        this.groupMap.set(name, updated)
        this.emit({ type: "group", group: updated })
        return updated
    }

    settings(): RuleSettings {
        this.record("settings", [])
        return this.currentSettings
    }

    updateSettings(patch: RuleSettingsPatch): RuleSettings {
        this.record("updateSettings", [patch])
        this.currentSettings = { ...this.currentSettings, ...patch }
        this.emit({ type: "settings", settings: this.currentSettings })
        return this.currentSettings
    }

    deviceConfig(): DeviceConfigResponse {
        this.record("deviceConfig", [])
        return { ...this.currentDeviceConfig, ...this.currentSettings }
    }

    updateDeviceConfig(patch: DeviceConfigPatch): DeviceConfigResponse {
        this.record("updateDeviceConfig", [patch])
        this.currentDeviceConfig = {
            ...this.currentDeviceConfig,
            ...patch,
            version: this.currentDeviceConfig.version + 1,
        }
        return this.deviceConfig()
    }

    /** Own values by device id and by group name (no group's value reaches a device here). */
    readonly deviceOverrides = new Map<string, DeviceConfigOverride>()
    readonly groupOverrides = new Map<string, DeviceConfigOverride>()

    deviceConfigOf(id: string): DeviceConfigDeviceView | undefined {
        this.record("deviceConfigOf", [id])
        return this.deviceConfigView(id)
    }

    overrideDeviceConfig(id: string, patch: DeviceConfigOverridePatch | null): DeviceConfigDeviceView | undefined {
        this.record("overrideDeviceConfig", [id, patch])
        if (!this.deviceMap.has(id)) return undefined
        this.deviceOverrides.set(id, applyOverride(this.deviceOverrides.get(id), patch))
        return this.deviceConfigView(id)
    }

    groupConfigOf(name: string): DeviceConfigGroupView | undefined {
        this.record("groupConfigOf", [name])
        const group = this.groupMap.get(name)
        return group && { name, members: group.members, override: { ...this.groupOverrides.get(name) } }
    }

    overrideGroupConfig(name: string, patch: DeviceConfigOverridePatch | null): DeviceConfigGroupView | undefined {
        this.record("overrideGroupConfig", [name, patch])
        const group = this.groupMap.get(name)
        if (!group) return undefined
        const override = applyOverride(this.groupOverrides.get(name), patch)
        this.groupOverrides.set(name, override)
        return { name, members: group.members, override }
    }

    private deviceConfigView(id: string): DeviceConfigDeviceView | undefined {
        if (!this.deviceMap.has(id)) return undefined
        const override = { ...this.deviceOverrides.get(id) }
        const fleet = this.deviceConfig()
        const sources = Object.fromEntries(
            (["threshold", "band", "reportMs", "minChange", "localAfterMs"] as const).map(f => [
                f,
                override[f] === undefined ? "fleet" : "device",
            ])
        ) as DeviceConfigDeviceView["sources"]
        return { id, group: null, config: { ...fleet, ...override }, sources, override, groupOverride: {} }
    }

    setSimLight(light: SimLight): SimLightResponse | undefined {
        this.record("setSimLight", [light])
        const sim = [...this.deviceMap.values()].find(device => device.simulated)
        if (!sim) return undefined
        return { deviceId: sim.id, light }
    }

    subscribe(listener: (event: LiveEvent) => void, wants?: (deviceId: string) => boolean): () => void {
        this.record("subscribe", [])
        const filtered = (event: LiveEvent) => {
            const id = deviceOf(event)
            if (wants === undefined || id === undefined || wants(id)) listener(event)
        }
        this.listeners.add(filtered)
        return () => this.listeners.delete(filtered)
    }

    private record(method: keyof ApiBackend, args: unknown[]): void {
        this.calls.push({ method, args })
        if (this.failing?.method === method) throw this.failing.error
    }
}

/** The device an event is about, if it is about one. */
function deviceOf(event: LiveEvent): string | undefined {
    if (event.type === "device") return event.device.id
    if (event.type === "reading" || event.type === "command") return event.deviceId
    return undefined
}

function buckets(readings: HistoryPoint[], from: number, bucketMs: number): HistoryPoint[] {
    const byStart = new Map<number, HistoryPoint[]>()
    for (const reading of readings) {
        const start = from + Math.floor((reading.t - from) / bucketMs) * bucketMs
        const members = byStart.get(start)
        if (members) members.push(reading)
        else byStart.set(start, [reading])
    }
    return [...byStart].map(([t, members]) => {
        const lights = members.map(m => m.light)
        const led = members.some(m => m.led === true) ? true : members.some(m => m.led === false) ? false : null
        return {
            t,
            light: lights.reduce((a, b) => a + b, 0) / lights.length,
            min: Math.min(...lights),
            max: Math.max(...lights),
            led,
        }
    })
}

/** null clears all; a field set to null clears it. */
function applyOverride(
    current: DeviceConfigOverride | undefined,
    patch: DeviceConfigOverridePatch | null
): DeviceConfigOverride {
    const next: Record<string, number> = patch === null ? {} : { ...current }
    for (const [field, value] of Object.entries(patch ?? {})) {
        if (value === null) delete next[field]
        else if (value !== undefined) next[field] = value
    }
    return next
}
