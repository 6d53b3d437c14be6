/**
 * The devices' configuration on `<id>/config` (README "Wire protocol"): the fleet's values, a group's and
 * a device's own (the narrower winning, config-overrides.ts), each device's config published retained
 * with the version its last change took, and the version each device says it runs. Versions come from
 * one growing counter; a change is published only to the devices whose config it changes.
 */
import type { ServerStats } from "./events"
import type { Logger } from "../util/logger"
import type { MessageBus, PublishOptions } from "../mqtt/message-bus"
import type { DeviceConfigOverride, DeviceConfigSource, DeviceConfigField, RuleSettings } from "../http/api-types"
import { printable } from "../util/logger"
import { LogLimiter, suppressedText } from "../util/log-limit"
import {
    DEVICE_CONFIG_RANGES,
    encode,
    nextConfigVersion,
    topics,
    type DeviceConfigPayload,
    type DeviceConfigValues,
} from "../protocol/contract"
import type { Timers } from "../util/clock"
import { ackIntervalFor, asOverride, effectiveConfig, timingProblem, type EffectiveConfig } from "./config-overrides"
import { ACK_INTERVAL_MS } from "./ack-sender"
import { ChangedEntries } from "../util/changed-entries"
import { OwnRules, type OwnRuleChange } from "./own-rules"

const CONFIG_DELIVERY: PublishOptions = { qos: 1, retain: true }
const FIELDS = Object.keys(DEVICE_CONFIG_RANGES) as (keyof DeviceConfigValues)[]

/**
 * The fleet's part of what is saved: its config with the version its last change took, and the last
 * version given (`latest`, when a group's or device's change took a later one).
 */
export interface SavedFleetConfig extends DeviceConfigPayload {
    latest?: number
}

/**
 * What is loaded: the fleet's part, the devices published with another version than the fleet's, the
 * overrides, and the members of the groups that have some. Only the fleet's part from an older server.
 */
export interface SavedDeviceConfigs extends SavedFleetConfig {
    versions?: Record<string, number>
    groups?: Record<string, DeviceConfigOverride>
    devices?: Record<string, DeviceConfigOverride>
    /** The members of each group with values of its own, as they were: the groups file may change. */
    members?: Record<string, string[]>
}

/** A group's own values, saved with its members as they were. */
export interface SavedGroupConfig {
    override: DeviceConfigOverride
    members: string[]
}

/**
 * One save: the fleet's part, and only the entries changed since the last save (undefined: removed), so
 * its cost follows the change, not the number of overrides.
 */
export interface DeviceConfigChanges {
    fleet: SavedFleetConfig
    devices: Map<string, DeviceConfigOverride | undefined>
    groups: Map<string, SavedGroupConfig | undefined>
    versions: Map<string, number | undefined>
}

/** Where the versions, values and overrides are kept, so they survive a restart. */
export interface DeviceConfigStore {
    /** A SavedDeviceConfigs as saved, every part of which is checked (a hand-edited database). */
    load(): unknown
    /** All of it or none (one transaction); a save that throws is tried again whole by the next one. */
    save(changes: DeviceConfigChanges): void
}

/** One change of the config, not made yet: the fleet's values, a group's own or a device's own. */
export interface ConfigChange {
    fleet?: DeviceConfigValues
    group?: { name: string; override: DeviceConfigOverride | undefined }
    device?: { id: string; override: DeviceConfigOverride | undefined }
}

/** The groups as configured: a group's override applies to its members. */
export interface GroupMembership {
    groupOf(deviceId: string): string | undefined
    members(name: string): readonly string[]
}

export interface DeviceConfigsOptions {
    bus: MessageBus
    log: Logger
    timers: Timers
    values: DeviceConfigValues
    store?: DeviceConfigStore
    groups?: GroupMembership
    counters: Pick<ServerStats, "configsSent" | "configsFailed">
    /** The known devices a change gave a new config (and version), e.g. for the dashboard's views. */
    changed?: (deviceIds: string[]) => void
    /**
     * Devices whose own threshold and band (own-rules.ts) changed, as the change is published: at the
     * start (overrides or members changed since `saved`), and with each fleet, group or device change.
     */
    ownRules?: { saved?: ReadonlyMap<string, RuleSettings>; changed: (changes: OwnRuleChange[]) => void }
}

/** What a device's last reading said about its config. */
interface Reported {
    version: number | null
    error: string | null
}

export class DeviceConfigs {
    private fleet: DeviceConfigPayload
    /** The last version given, to the fleet or to some devices. */
    private latest: number
    /** Devices last published with another version than the fleet's (a narrower change, or none since). */
    private readonly versions = new ChangedEntries<string, number>((a, b) => a === b)
    private readonly groupOverrides = new ChangedEntries<string, DeviceConfigOverride>(sameOverride)
    private readonly deviceOverrides = new ChangedEntries<string, DeviceConfigOverride>(sameOverride)
    /** Groups saved with other members than the groups file gives them now. */
    private readonly membersMovedIn = new Set<string>()
    /** Set once the bus is up: publishing before would be refused (MessageBus.publish never queues). */
    private live = false
    private readonly reports = new Map<string, Reported>()
    /** Every device that gets a config: met since the start, or known from before it (the registry). */
    private readonly known = new Set<string>()
    private readonly ownRules: OwnRules
    /** A device can change its refusal with every reading: its lines are limited like any a client causes. */
    private readonly refusalLog: LogLimiter

    constructor(private readonly o: DeviceConfigsOptions) {
        this.refusalLog = new LogLimiter(
            (deviceId, suppressed, spanMs) =>
                o.log.warn(`${deviceId} refused its config: ${suppressedText(suppressed, spanMs)}`),
            {},
            o.timers
        )
        this.ownRules = new OwnRules(o.ownRules?.saved)
        const raw = o.store?.load()
        const saved = asConfig(raw)
        // the overrides are kept even when the fleet's part is not (a hand-edited database)
        this.restore(raw as SavedDeviceConfigs | undefined)
        const latest = Math.max(saved?.version ?? 0, this.latestSaved(raw))
        if (saved && sameValues(saved, o.values)) {
            this.fleet = saved
            this.latest = latest
            this.membersMoved((raw as SavedDeviceConfigs).members)
        } else {
            // a new fleet config at start (--threshold, an older server's value): every device gets it
            this.latest = nextConfigVersion(latest, o.timers.now())
            this.fleet = { version: this.latest, ...pick(o.values) }
            this.versions.clear()
            this.save()
        }
        // whoever had a rule of its own, or has one now (an edited groups file moves members)
        const groupMembers = [...this.groupOverrides.keys()].flatMap(name => this.o.groups?.members(name) ?? [])
        this.tellOwnRules([...this.ownRules.ids(), ...this.deviceOverrides.keys(), ...groupMembers])
    }

    /**
     * Devices that joined or left a group with values of its own since the last start (an edited groups
     * file) have another config under the version they were sent: each gets a new one, or the device
     * would take the old values' version as nothing new.
     */
    private membersMoved(before: unknown): void {
        const was = new Map(entries(before).map(([name, ids]) => [name, new Set(Array.isArray(ids) ? ids : [])]))
        const moved = new Set<string>()
        for (const name of new Set([...was.keys(), ...this.groupOverrides.keys()])) {
            const then = was.get(name) ?? new Set()
            const now = new Set(this.o.groups?.members(name) ?? [])
            for (const id of then) if (typeof id === "string" && !now.has(id)) moved.add(id)
            for (const id of now) if (!then.has(id)) moved.add(id)
            if (then.size !== now.size || [...now].some(id => !then.has(id))) this.membersMovedIn.add(name)
        }
        if (moved.size === 0) return
        this.latest = nextConfigVersion(this.latest, this.o.timers.now())
        for (const id of moved) this.versions.set(id, this.latest)
        this.o.log.info(
            `device config version ${this.latest}: ${moved.size} device(s) changed group since the last start`
        )
        this.save()
    }

    /** The fleet's config, with the version a fleet-wide change last took. */
    current(): DeviceConfigPayload {
        return { ...this.fleet }
    }

    /** What this device is sent: its effective values, with the version its config was last published with. */
    configFor(deviceId: string): DeviceConfigPayload {
        return { version: this.sentVersion(deviceId), ...this.effective(deviceId).values }
    }

    /** The version this device's config was last published with (or would be, to a device not met yet). */
    sentVersion(deviceId: string): number {
        return this.versions.get(deviceId) ?? this.fleet.version
    }

    /** The fleet's values, its group's own, then its own, and where each came from; as `change` would make them. */
    effective(deviceId: string, change?: ConfigChange): EffectiveConfig {
        const group = this.o.groups?.groupOf(deviceId)
        const groupOverride =
            group === undefined
                ? undefined
                : group === change?.group?.name
                  ? change.group.override
                  : this.groupOverrides.get(group)
        const own = deviceId === change?.device?.id ? change.device.override : this.deviceOverrides.get(deviceId)
        return effectiveConfig(change?.fleet ?? pick(this.fleet), groupOverride, own)
    }

    /** The device's own threshold and band, for the server's decisions (the same it applies alone). */
    ruleOf(deviceId: string): { threshold: number; band: number } {
        return { threshold: this.valueOf(deviceId, "threshold"), band: this.valueOf(deviceId, "band") }
    }

    /**
     * One field of the device's effective config, as effective() has it: read twice per reading, where
     * building the whole config each time was 2.6% of the bytes the server allocated under load.
     */
    valueOf(deviceId: string, field: DeviceConfigField): number {
        const own = this.deviceOverrides.get(deviceId)?.[field]
        if (own !== undefined) return own
        const group = this.o.groups?.groupOf(deviceId)
        const groupValue = group === undefined ? undefined : this.groupOverrides.get(group)?.[field]
        return groupValue ?? this.fleet[field]
    }

    sources(deviceId: string): Record<DeviceConfigField, DeviceConfigSource> {
        return this.effective(deviceId).sources
    }

    deviceOverride(deviceId: string): DeviceConfigOverride {
        return { ...this.deviceOverrides.get(deviceId) }
    }

    groupOverride(name: string): DeviceConfigOverride {
        return { ...this.groupOverrides.get(name) }
    }

    /** Met since the start or known from before it: a device an override may be set for. */
    isKnown(deviceId: string): boolean {
        return this.known.has(deviceId)
    }

    /** Devices known from before this start: they get their config with the others (publishAll, change). */
    remember(deviceIds: Iterable<string>): void {
        for (const id of deviceIds) this.known.add(id)
    }

    /** The bus is up (or back): every known device gets its config again, and each new one from now on. */
    publishAll(): void {
        this.live = true
        this.publishEach(this.known)
    }

    /** A device met (the registry did not refuse it): its config at once, unless it has it already. */
    added(deviceId: string): void {
        if (this.known.has(deviceId)) return
        this.known.add(deviceId)
        if (this.live) this.publish(deviceId)
    }

    /**
     * New fleet values: a new version, saved, then sent to every known device whose config it changes
     * (one whose own or group's values cover the change keeps its config and version). False when
     * nothing changed.
     */
    change(values: DeviceConfigValues): boolean {
        if (sameValues(this.fleet, values)) return false
        const candidates = new Set([...this.known, ...this.versions.keys()])
        const before = new Map([...candidates].map(id => [id, this.configFor(id)]))
        this.latest = nextConfigVersion(this.latest, this.o.timers.now())
        this.fleet = { version: this.latest, ...pick(values) }
        this.versions.clear()
        const affected: string[] = []
        for (const [id, was] of before) {
            if (sameValues(was, this.effective(id).values)) this.versions.set(id, was.version)
            else affected.push(id)
        }
        this.save()
        this.o.log.info(
            `device config version ${this.latest}: ${encode("config", this.fleet)}, for ${affected.length} device(s)`
        )
        this.tell(affected)
        // a device follows the fleet's rule unless it has one of its own: only those may differ now
        this.tellOwnRules(this.ownRules.ids())
        return true
    }

    /**
     * Why a change would leave a device deciding by itself while the server is there (config-overrides.ts
     * timingProblem), naming the first such device; undefined: none. Nothing changes here.
     */
    timingProblem(change: ConfigChange): string | undefined {
        if (change.fleet) {
            const problem = timingProblem(change.fleet)
            if (problem) return `the fleet's ${problem}`
        }
        const ids = change.device
            ? [change.device.id]
            : change.group
              ? (this.o.groups?.members(change.group.name) ?? [])
              : this.known
        for (const id of ids) {
            const problem = timingProblem(this.effective(id, change).values)
            if (problem) return `device ${id}: ${problem}`
        }
        return undefined
    }

    /** A device's own values (undefined: none); its config goes out with a new version when it changes. */
    setDeviceOverride(deviceId: string, override: DeviceConfigOverride | undefined): boolean {
        return this.changeFor([deviceId], `device ${deviceId}`, () => {
            if (override) this.deviceOverrides.set(deviceId, { ...override })
            else this.deviceOverrides.delete(deviceId)
        })
    }

    /** A group's own values (undefined: none); the members whose config changes get it with a new version. */
    setGroupOverride(name: string, override: DeviceConfigOverride | undefined): boolean {
        return this.changeFor(this.o.groups?.members(name) ?? [], `group ${name}`, () => {
            if (override) this.groupOverrides.set(name, { ...override })
            else this.groupOverrides.delete(name)
        })
    }

    /** From each reading: `cfg` and `cfgErr` as the device sent them (none: the lesson's device). */
    reported(deviceId: string, version: number | undefined, error: string | undefined): void {
        const before = this.reports.get(deviceId)
        const now: Reported = { version: version ?? null, error: error ?? null }
        if (before?.version === now.version && before.error === now.error) return
        this.reports.set(deviceId, now)
        if (now.error !== null && now.error !== before?.error && this.refusalLog.allow(deviceId))
            this.o.log.warn(`${deviceId} refused its config: ${printable(now.error, 200)}`)
    }

    /** The version the device last said it runs; null when it never said. */
    versionOf(deviceId: string): number | null {
        return this.reports.get(deviceId)?.version ?? null
    }

    /**
     * ms between two acks to this device: as long as the config it runs allows. One that refused its config,
     * or runs another version than the one sent, runs values of its own: it gets the shortest.
     */
    ackInterval(deviceId: string): number {
        const report = this.reports.get(deviceId)
        // One that never says (the bench's fleet, a device before its first config) is taken to run what it is sent.
        if (
            report &&
            (report.error !== null || (report.version !== null && report.version !== this.sentVersion(deviceId)))
        )
            return ACK_INTERVAL_MS
        return ackIntervalFor(this.valueOf(deviceId, "localAfterMs"))
    }

    /** Why the device refused its last config; null when it did not. */
    errorOf(deviceId: string): string | null {
        return this.reports.get(deviceId)?.error ?? null
    }

    /** Saves the overrides changed by `edit`; the devices among `ids` whose config changed get a new version. */
    private changeFor(ids: readonly string[], what: string, edit: () => void): boolean {
        const before = ids.map(id => this.configFor(id))
        edit()
        const affected = ids.filter((id, i) => !sameValues(before[i], this.effective(id).values))
        if (affected.length > 0) {
            this.latest = nextConfigVersion(this.latest, this.o.timers.now())
            for (const id of affected) this.versions.set(id, this.latest)
            this.o.log.info(`device config version ${this.latest} for ${what}: ${affected.length} device(s)`)
        }
        this.save()
        this.tell(affected)
        // all of ids: a value the same as the fleet's is still the device's own when the fleet's moves
        this.tellOwnRules(ids)
        return affected.length > 0
    }

    private tellOwnRules(ids: Iterable<string>): void {
        const changes = this.ownRules.check(ids, id => this.effective(id))
        if (changes.length > 0) this.o.ownRules?.changed(changes)
    }

    private tell(affected: string[]): void {
        const known = affected.filter(id => this.known.has(id))
        if (this.live) this.publishEach(known)
        if (known.length > 0) this.o.changed?.(known)
    }

    /** The fleet's part, and the entries changed since the last save. */
    private save(): void {
        if (!this.o.store) return
        const fleet: SavedFleetConfig = { ...this.fleet }
        if (this.latest !== this.fleet.version) fleet.latest = this.latest
        const groups = new Map<string, SavedGroupConfig | undefined>()
        for (const name of new Set([...this.groupOverrides.changes().keys(), ...this.membersMovedIn])) {
            const override = this.groupOverrides.get(name)
            groups.set(name, override && { override, members: [...(this.o.groups?.members(name) ?? [])] })
        }
        const devices = this.deviceOverrides.changes()
        this.o.store.save({ fleet, devices, groups, versions: this.versions.changes() })
        for (const changed of [this.versions, this.groupOverrides, this.deviceOverrides]) changed.markSaved()
        this.membersMovedIn.clear()
    }

    /**
     * The saved overrides and versions. An entry that is not one (a hand-edited database) is left out with
     * a warning, and its row goes at the next save.
     */
    private restore(saved: SavedDeviceConfigs | undefined): void {
        const skipped: string[] = []
        for (const [name, value] of entries(saved?.groups)) {
            const override = asOverride(value)
            if (override) this.groupOverrides.restore(name, override)
            else {
                this.groupOverrides.dropSaved(name)
                skipped.push(`group ${name}'s values`)
            }
        }
        for (const [id, value] of entries(saved?.devices)) {
            const override = asOverride(value)
            if (override) this.deviceOverrides.restore(id, override)
            else {
                this.deviceOverrides.dropSaved(id)
                skipped.push(`${id}'s values`)
            }
        }
        for (const [id, value] of entries(saved?.versions))
            if (Number.isSafeInteger(value) && (value as number) >= 1) this.versions.restore(id, value as number)
            else {
                this.versions.dropSaved(id)
                skipped.push(`${id}'s version`)
            }
        if (skipped.length > 0)
            this.o.log.warn(
                `left out ${skipped.length} saved device config entries that are not valid ` +
                    `(${printable(skipped.slice(0, 3).join(", "), 200)}${skipped.length > 3 ? ", ..." : ""})`
            )
    }

    private latestSaved(raw: unknown): number {
        const latest = (raw as SavedDeviceConfigs | undefined)?.latest
        const versions = [...this.versions.values()]
        return Math.max(Number.isSafeInteger(latest) ? (latest as number) : 0, ...versions)
    }

    private publish(deviceId: string): void {
        this.send(deviceId).then(
            () => undefined,
            (err: Error) => this.o.log.warn(`could not send the config to ${deviceId}: ${err.message}`)
        )
    }

    /** One line for all that failed: a broker lost midway would fail them all. */
    private publishEach(deviceIds: Iterable<string>): void {
        const sends = [...deviceIds].map(id => this.send(id))
        if (sends.length === 0) return
        // allSettled never rejects
        void Promise.allSettled(sends).then(results => {
            const failed = results.flatMap(r => (r.status === "rejected" ? [r.reason as Error] : []))
            if (failed.length > 0)
                this.o.log.warn(
                    `could not send the config to ${failed.length} of ${results.length} devices: ${failed[0].message}`
                )
        })
    }

    /** The next (re)connection sends a config that failed again (publishAll). */
    private async send(deviceId: string): Promise<void> {
        const { counters } = this.o
        const text = encode("config", this.configFor(deviceId))
        try {
            await this.o.bus.publish(topics.config(deviceId), text, CONFIG_DELIVERY)
            counters.configsSent++
        } catch (err) {
            counters.configsFailed++
            throw err
        }
    }
}

function entries(value: unknown): [string, unknown][] {
    return typeof value === "object" && value !== null && !Array.isArray(value) ? Object.entries(value) : []
}

function pick(values: DeviceConfigValues): DeviceConfigValues {
    const { threshold, band, reportMs, minChange, localAfterMs } = values
    return { threshold, band, reportMs, minChange, localAfterMs }
}

function sameOverride(a: DeviceConfigOverride, b: DeviceConfigOverride): boolean {
    return FIELDS.every(f => a[f] === b[f])
}

function sameValues(a: DeviceConfigValues, b: DeviceConfigValues): boolean {
    return FIELDS.every(f => a[f] === b[f])
}

/** A config as saved, or undefined for anything else (a hand-edited database, an older server's). */
function asConfig(value: unknown): DeviceConfigPayload | undefined {
    if (typeof value !== "object" || value === null) return undefined
    const v = value as Record<string, unknown>
    if (!Number.isSafeInteger(v.version) || (v.version as number) < 1) return undefined
    for (const f of FIELDS) {
        const [min, max] = DEVICE_CONFIG_RANGES[f]
        if (!Number.isSafeInteger(v[f]) || (v[f] as number) < min || (v[f] as number) > max) return undefined
    }
    return { version: v.version as number, ...pick(v as unknown as DeviceConfigValues) }
}
