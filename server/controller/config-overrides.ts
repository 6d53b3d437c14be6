/**
 * A device's effective config: the fleet's values, then its group's own, then its own, field by field
 * (the narrower wins). Pure; the overrides are kept and published by DeviceConfigs.
 */
import type {
    DeviceConfigField,
    DeviceConfigOverride,
    DeviceConfigOverridePatch,
    DeviceConfigSource,
} from "../http/api-types"
import { DEVICE_CONFIG_RANGES, type DeviceConfigValues } from "../protocol/contract"
import { ACK_INTERVAL_MS, ACK_MAX_INTERVAL_MS } from "./ack-sender"

export const CONFIG_FIELDS = Object.keys(DEVICE_CONFIG_RANGES) as DeviceConfigField[]

/**
 * Why a device with these values would decide by itself while the server is there; undefined: none. A
 * device reporting a steady light hears the server once per report, its ack up to ACK_INTERVAL_MS late.
 */
export function timingProblem(values: DeviceConfigValues): string | undefined {
    const least = values.reportMs + ACK_INTERVAL_MS
    if (values.localAfterMs >= least) return undefined
    return (
        `localAfterMs ${values.localAfterMs} is shorter than reportMs ${values.reportMs} + ${ACK_INTERVAL_MS}: ` +
        `a device hears the server once per report, so it would decide by itself while the server is there ` +
        `(make localAfterMs at least ${least}, or reportMs shorter)`
    )
}

/**
 * ms between two acks to a device that decides by itself after `localAfterMs` of silence. It hears the
 * server at least every max(reportMs, this), and timingProblem keeps reportMs at most localAfterMs -
 * ACK_INTERVAL_MS: this stays within that bound too, so the device keeps the same margin.
 */
export function ackIntervalFor(localAfterMs: number): number {
    return Math.min(ACK_MAX_INTERVAL_MS, Math.max(ACK_INTERVAL_MS, localAfterMs - ACK_INTERVAL_MS))
}

export interface EffectiveConfig {
    values: DeviceConfigValues
    sources: Record<DeviceConfigField, DeviceConfigSource>
}

export function effectiveConfig(
    fleet: DeviceConfigValues,
    group: DeviceConfigOverride | undefined,
    device: DeviceConfigOverride | undefined
): EffectiveConfig {
    const values = { ...fleet }
    const sources = {} as Record<DeviceConfigField, DeviceConfigSource>
    for (const f of CONFIG_FIELDS) {
        sources[f] = "fleet"
        if (group?.[f] !== undefined) [values[f], sources[f]] = [group[f], "group"]
        if (device?.[f] !== undefined) [values[f], sources[f]] = [device[f], "device"]
    }
    return { values, sources }
}

/** The override after a PATCH (null clears a field); undefined when nothing is left. Validated before. */
export function patchOverride(
    current: DeviceConfigOverride | undefined,
    patch: DeviceConfigOverridePatch
): DeviceConfigOverride | undefined {
    const next: DeviceConfigOverride = { ...current }
    for (const f of CONFIG_FIELDS) {
        const v = patch[f]
        if (v === null) delete next[f]
        else if (v !== undefined) next[f] = v
    }
    return Object.keys(next).length > 0 ? next : undefined
}

/** An override as saved, or undefined for anything else (a hand-edited database): whole and in range. */
export function asOverride(value: unknown): DeviceConfigOverride | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
    const v = value as Record<string, unknown>
    const out: DeviceConfigOverride = {}
    for (const [key, x] of Object.entries(v)) {
        if (!(key in DEVICE_CONFIG_RANGES)) return undefined
        const [min, max] = DEVICE_CONFIG_RANGES[key as DeviceConfigField]
        if (!Number.isSafeInteger(x) || (x as number) < min || (x as number) > max) return undefined
        out[key as DeviceConfigField] = x as number
    }
    return Object.keys(out).length > 0 ? out : undefined
}
