/**
 * The HTTP API's view of the server (ApiBackend in api-types.ts): the registry and history from the
 * store, the live decisions from the controller, run-time changes validated, applied and saved.
 */
import {
    ApiProblem,
    type ApiBackend,
    type DeviceConfigDeviceView,
    type DeviceConfigGroupView,
    type DeviceConfigOverridePatch,
    type DeviceConfigPatch,
    type DeviceConfigResponse,
    type DevicePageResponse,
    type DeviceQuery,
    type DeviceView,
    type GroupRulePatch,
    type HomeAssistantView,
    type GroupView,
    type HistoryResponse,
    type LiveEvent,
    type RuleSettings,
    type RuleSettingsPatch,
    type SimLight,
    type SimLightResponse,
    type StatsResponse,
    type SummaryResponse,
} from "./api-types"
import { FLEET, countStates, pageOf, type DeviceFlags } from "./fleet"
import type { ConfigChange } from "../controller/device-config"
import type { NightlightServer } from "../controller/nightlight-server"
import type { CommandEvent, StatusEvent, TelemetryEvent } from "../controller/events"
import type { OwnRuleChange } from "../controller/own-rules"
import { applyRulePatch } from "../groups/config"
import { patchOverride } from "../controller/config-overrides"
import type { HomeAssistantDiscovery } from "../home-assistant/discovery"
import type { Logger } from "../util/logger"
import type { Store } from "../store"
import type { DeviceRecord } from "../store/registry"

/** The simulated device's handle, when `npm start` runs one. */
export interface SimulatorHandle {
    deviceId: string
    setLight(light: SimLight): boolean
}

export class DashboardBackend implements ApiBackend {
    private sim?: SimulatorHandle
    private discovery?: HomeAssistantDiscovery
    private brokerStats?: () => Record<string, number>

    constructor(
        private readonly controller: NightlightServer,
        private readonly store: Store,
        private readonly log: Logger
    ) {}

    attachSimulator(sim: SimulatorHandle): void {
        this.sim = sim
    }

    /** With --ha-discovery: the API shows it and can bring devices back into Home Assistant. */
    attachHomeAssistant(discovery: HomeAssistantDiscovery): void {
        this.discovery = discovery
    }

    homeAssistant(): HomeAssistantView | undefined {
        return this.discovery?.view()
    }

    async showInHomeAssistant(id: string, shown: boolean): Promise<HomeAssistantView | undefined> {
        const discovery = this.discovery
        if (!discovery) return undefined
        if (!this.store.registry.peek(id)) throw new ApiProblem(404, `no device "${id}"`, "id")
        if (shown) await discovery.restore(id)
        else
            await discovery.forget(id).catch((err: Error) => {
                // left out all the same; its configs may still be on the broker
                throw new ApiProblem(503, `could not remove ${id} from Home Assistant: ${err.message}`)
            })
        return discovery.view()
    }

    /** The embedded broker's counters (mqtt/broker-setup.ts), for stats(); none with an external broker. */
    attachBrokerStats(stats: () => Record<string, number>): void {
        this.brokerStats = stats
    }

    stats(): Omit<StatsResponse, "http"> {
        const { rejected, ...server } = this.controller.stats()
        return { server, rejected, broker: this.brokerStats?.() ?? null }
    }

    devices(): DeviceView[] {
        return this.store.registry
            .list()
            .map(r => this.view(r))
            .sort((a, b) => a.id.localeCompare(b.id))
    }

    devicePage(query: DeviceQuery, now: number): DevicePageResponse {
        const { total, page } = pageOf(this.store.registry.records(), query, now, this.flags())
        return { devices: page.map(r => this.view(r)), total, offset: query.offset, limit: query.limit }
    }

    summary(now: number): SummaryResponse {
        const { devices, counts } = countStates(this.store.registry.records(), now, this.flags())
        const groups = this.groups().map(g => ({
            name: g.name,
            members: g.members.length,
            ledOn: g.ledOn,
            voters: g.votes.voters,
            dark: g.votes.dark,
        }))
        const configVersion = this.controller.deviceConfig().version
        return { devices, counts, staleAfterMs: FLEET.staleAfterMs, at: now, configVersion, groups }
    }

    /** The controller's link counters (since it started) and the config versions its devices report. */
    private flags(): DeviceFlags {
        const c = this.controller
        return {
            readingsLost: id => c.readingsLost(id),
            // not the version ITS config was last published with: a change for another device is not news,
            // and one above it was never sent by this server (forged, or a server with another counter)
            configOld: id => {
                const running = c.configVersion(id)
                return (running !== null && running !== c.configSent(id)) || c.configError(id) !== null
            },
        }
    }

    device(id: string): DeviceView | undefined {
        // the view copies what it shows: the registry's own record will do, without a copy of its own
        const record = this.store.registry.peek(id)
        return record && this.view(record)
    }

    history(id: string, from: number, to: number, points: number): HistoryResponse | undefined {
        if (!this.store.registry.peek(id)) return undefined
        // readings not yet written are part of the answer
        this.store.flushHistory()
        const { bucketMs, readings } = this.store.history.readings(id, from, to, points)
        const commands = this.store.history.commands(id, from, to)
        const settingsHistory = this.store.settingsLog.between(from, to)
        const deviceRules = this.store.deviceRuleLog.between(id, from, to)
        const settings = this.controller.settings()
        return { device: id, from, to, bucketMs, readings, commands, settings, settingsHistory, deviceRules }
    }

    groups(): GroupView[] {
        return this.controller.groups.names().flatMap(name => this.controller.groups.view(name) ?? [])
    }

    updateGroupRule(name: string, patch: GroupRulePatch): GroupView | undefined {
        const config = this.controller.groups.config(name)
        if (!config) return undefined
        const result = applyRulePatch(config, patch)
        if (!result.ok) throw new ApiProblem(400, result.error, result.field)
        this.store.settings.set(groupRuleKey(name), result.rule)
        return this.controller.setGroupRule(name, result.rule)
    }

    settings(): RuleSettings {
        return this.controller.settings()
    }

    updateSettings(patch: RuleSettingsPatch): RuleSettings {
        const current = this.controller.settings()
        const next = { ...current, ...patch }
        // the same values again (a form sent twice): nothing to save, decide again or log
        if (next.threshold === current.threshold && next.band === current.band) return current
        this.store.settings.set("threshold", next.threshold)
        this.store.settings.set("band", next.band)
        this.store.settingsLog.record(Date.now(), next)
        this.controller.updateSettings(next)
        return this.controller.settings()
    }

    deviceConfig(): DeviceConfigResponse {
        return this.controller.deviceConfig()
    }

    updateDeviceConfig(patch: DeviceConfigPatch): DeviceConfigResponse {
        const current = this.controller.deviceConfig()
        const { reportMs, minChange, localAfterMs } = { ...current, ...patch }
        const next = { reportMs, minChange, localAfterMs }
        // the same values again (a form sent twice): no new version for every device
        if (reportMs === current.reportMs && minChange === current.minChange && localAfterMs === current.localAfterMs)
            return current
        const { threshold, band } = this.controller.settings()
        this.refuseTiming({ fleet: { threshold, band, ...next } })
        this.store.settings.set(DEVICE_DEFAULTS_KEY, next)
        this.controller.updateDeviceDefaults(next)
        return this.controller.deviceConfig()
    }

    deviceConfigOf(id: string): DeviceConfigDeviceView | undefined {
        return this.controller.deviceConfigOf(id)
    }

    /** Saved with the config versions (the controller's store); a device never met is a 404. */
    overrideDeviceConfig(id: string, patch: DeviceConfigOverridePatch | null): DeviceConfigDeviceView | undefined {
        const current = this.controller.deviceConfigOf(id)
        if (!current) return undefined
        const next = patch === null ? undefined : patchOverride(current.override, patch)
        this.refuseTiming({ device: { id, override: next } })
        this.controller.setDeviceConfigOverride(id, next)
        return this.controller.deviceConfigOf(id)
    }

    groupConfigOf(name: string): DeviceConfigGroupView | undefined {
        return this.controller.groupConfigOf(name)
    }

    overrideGroupConfig(name: string, patch: DeviceConfigOverridePatch | null): DeviceConfigGroupView | undefined {
        const current = this.controller.groupConfigOf(name)
        if (!current) return undefined
        const next = patch === null ? undefined : patchOverride(current.override, patch)
        this.refuseTiming({ group: { name, override: next } })
        this.controller.setGroupConfigOverride(name, next)
        return this.controller.groupConfigOf(name)
    }

    /** A change after which a device would decide by itself while the server is there: 400, nothing changed. */
    private refuseTiming(change: ConfigChange): void {
        const problem = this.controller.deviceConfigProblem(change)
        if (problem) throw new ApiProblem(400, problem, "localAfterMs")
    }

    setSimLight(light: SimLight): SimLightResponse | undefined {
        if (!this.sim) return undefined
        if (!this.sim.setLight(light)) throw new ApiProblem(503, "the simulated device is not running (yet)")
        return { deviceId: this.sim.deviceId, light }
    }

    subscribe(deliver: (event: LiveEvent) => void, wants: (deviceId: string) => boolean = () => true): () => void {
        const c = this.controller
        // These run inside the controller's handlers: a failing stream must not cost a device its command.
        const listener = (event: LiveEvent) => {
            try {
                deliver(event)
            } catch (err) {
                this.log.error({ err }, `could not pass a ${event.type} event to a live stream`)
            }
        }
        const deviceChanged = (deviceId: string) => {
            const device = this.device(deviceId)
            if (device) listener({ type: "device", device })
        }
        const onTelemetry = (e: TelemetryEvent) => {
            if (e.duplicate || !wants(e.deviceId)) return
            listener({ type: "reading", deviceId: e.deviceId, t: e.at, light: e.light, led: e.reportedLed ?? null })
            deviceChanged(e.deviceId)
        }
        const onCommand = (e: CommandEvent) => {
            if (!wants(e.deviceId)) return
            listener({ type: "command", deviceId: e.deviceId, t: e.at, ledOn: e.command.led_on, reason: e.reason })
            deviceChanged(e.deviceId)
        }
        const onStatus = (e: StatusEvent) => {
            if (wants(e.deviceId)) deviceChanged(e.deviceId)
        }
        const onGroup = (group: GroupView) => listener({ type: "group", group })
        const onSettings = (settings: RuleSettings) => listener({ type: "settings", settings, at: Date.now() })
        // the chart of a device with a rule of its own draws that, not the fleet's
        const onRules = (changes: OwnRuleChange[], at: number) => {
            for (const { deviceId, rule } of changes)
                if (wants(deviceId)) listener({ type: "rule", deviceId, rule, at })
        }
        // a new config for a device (its configSent): its page and card show it without a reading
        const onConfigs = (deviceIds: string[]) => {
            for (const id of deviceIds) if (wants(id)) deviceChanged(id)
        }
        // Added after the recorder's listeners, so the registry is up to date when a view is built.
        c.on("telemetry", onTelemetry)
        c.on("command", onCommand)
        c.on("status", onStatus)
        c.on("group", onGroup)
        c.on("settings", onSettings)
        c.on("configs", onConfigs)
        c.on("rules", onRules)
        return () => {
            c.off("telemetry", onTelemetry)
            c.off("command", onCommand)
            c.off("status", onStatus)
            c.off("group", onGroup)
            c.off("settings", onSettings)
            c.off("configs", onConfigs)
            c.off("rules", onRules)
        }
    }

    private view(r: Readonly<DeviceRecord>): DeviceView {
        return {
            id: r.id,
            online: r.online,
            firstSeen: r.firstSeen,
            lastSeen: r.lastSeen,
            light: r.light,
            lightAt: r.lightAt,
            ledOn: r.ledOn,
            reportedLed: r.reportedLed,
            decider: r.local === true ? "device" : "server",
            group: this.controller.groups.groupOf(r.id) ?? null,
            switchedByHand: this.controller.switchedByHand(r.id),
            lastCommand: r.lastCommand,
            simulated: this.sim?.deviceId === r.id,
            configVersion: this.controller.configVersion(r.id),
            configSent: this.controller.configSent(r.id),
            configError: this.controller.configError(r.id),
        }
    }
}

/** Where the device config's values besides the rule (reportMs, minChange, localAfterMs) changed at run time are saved. */
export const DEVICE_DEFAULTS_KEY = "deviceDefaults"

/** Where a group's rule changed at run time is saved. */
export function groupRuleKey(name: string): string {
    return `group:${name}`
}
