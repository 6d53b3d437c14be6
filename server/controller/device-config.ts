/**
 * The devices' configuration on `<id>/config` (README "Wire protocol"): the fleet's values under one
 * version, published retained to every known device, and the version each device says it runs.
 * Per-group and per-device values would change what `configFor` answers, not the topic or its shape.
 */
import type { ServerStats } from "./events"
import type { Logger } from "../util/logger"
import type { MessageBus, PublishOptions } from "../mqtt/message-bus"
import { printable } from "../util/logger"
import {
    DEVICE_CONFIG_RANGES,
    encode,
    nextConfigVersion,
    topics,
    type DeviceConfigPayload,
    type DeviceConfigValues,
} from "../protocol/contract"
import type { Timers } from "../util/clock"

const CONFIG_DELIVERY: PublishOptions = { qos: 1, retain: true }
const FIELDS = Object.keys(DEVICE_CONFIG_RANGES) as (keyof DeviceConfigValues)[]

/** Where the version and its values are kept, so the version still grows after a restart. */
export interface DeviceConfigStore {
    load(): unknown
    save(config: DeviceConfigPayload): void
}

export interface DeviceConfigsOptions {
    bus: MessageBus
    log: Logger
    timers: Timers
    values: DeviceConfigValues
    store?: DeviceConfigStore
    counters: Pick<ServerStats, "configsSent" | "configsFailed">
}

/** What a device's last reading said about its config. */
interface Reported {
    version: number | null
    error: string | null
}

export class DeviceConfigs {
    private config: DeviceConfigPayload
    /** Set once the bus is up: publishing before would be refused (MessageBus.publish never queues). */
    private live = false
    private readonly reports = new Map<string, Reported>()
    /** Every device that gets a config: met since the start, or known from before it (the registry). */
    private readonly known = new Set<string>()

    constructor(private readonly o: DeviceConfigsOptions) {
        const saved = asConfig(o.store?.load())
        if (saved && sameValues(saved, o.values)) this.config = saved
        else {
            this.config = { version: nextConfigVersion(saved?.version, o.timers.now()), ...pick(o.values) }
            o.store?.save(this.config)
        }
    }

    current(): DeviceConfigPayload {
        return { ...this.config }
    }

    /** This device's config; the fleet's for now. */
    configFor(_deviceId: string): DeviceConfigPayload {
        return this.config
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

    /** New values: a new version, saved, then sent to every known device. False when nothing changed. */
    change(values: DeviceConfigValues): boolean {
        if (sameValues(this.config, values)) return false
        this.config = { version: nextConfigVersion(this.config.version, this.o.timers.now()), ...pick(values) }
        this.o.store?.save(this.config)
        this.o.log.info(`device config version ${this.config.version}: ${encode("config", this.config)}`)
        if (this.live) this.publishEach(this.known)
        return true
    }

    /** From each reading: `cfg` and `cfgErr` as the device sent them (none: the lesson's device). */
    reported(deviceId: string, version: number | undefined, error: string | undefined): void {
        const before = this.reports.get(deviceId)
        const now: Reported = { version: version ?? null, error: error ?? null }
        if (before?.version === now.version && before.error === now.error) return
        this.reports.set(deviceId, now)
        if (now.error !== null && now.error !== before?.error)
            this.o.log.warn(`${deviceId} refused its config: ${printable(now.error, 200)}`)
    }

    /** The version the device last said it runs; null when it never said. */
    versionOf(deviceId: string): number | null {
        return this.reports.get(deviceId)?.version ?? null
    }

    /** Why the device refused its last config; null when it did not. */
    errorOf(deviceId: string): string | null {
        return this.reports.get(deviceId)?.error ?? null
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

function pick(values: DeviceConfigValues): DeviceConfigValues {
    const { threshold, band, reportMs, minChange, localAfterMs } = values
    return { threshold, band, reportMs, minChange, localAfterMs }
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
