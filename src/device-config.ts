/**
 * The server's config for this device (`<id>/config`, README "Wire protocol"): decoded and checked whole,
 * with the ranges of the device's own settings (src/config.ts). Pure, so unit-tested in the VM
 * (`device-config.test.ts`); nightlight.ts applies it and keeps it in the settings store.
 */
import { BAND_RANGE, LOCAL_AFTER_RANGE, MIN_CHANGE_RANGE, REPORT_MS_RANGE, THRESHOLD_RANGE } from "./config"

/** The settings-store key of the last config applied (at most 13 characters: docs/devicescript.md §2). */
export const SERVER_CONFIG_KEY = "SRV_CONFIG"

/** Longest refusal reason a reading carries (the server takes up to 200). */
const MAX_ERROR = 100

export interface DeviceConfig {
    version: number
    threshold: number
    band: number
    reportMs: number
    minChange: number
    localAfterMs: number
}

/** A config, or why it was refused; `version` is the refused one's when it had a valid one (else 0). */
export interface DeviceConfigResult {
    config?: DeviceConfig
    error?: string
    version?: number
}

const NAMES = ["threshold", "band", "reportMs", "minChange", "localAfterMs"]
const RANGES = [THRESHOLD_RANGE, BAND_RANGE, REPORT_MS_RANGE, MIN_CHANGE_RANGE, LOCAL_AFTER_RANGE]

function isWhole(v: any): boolean {
    // compare, never test a number for truth: a large JSON number is falsy in the VM (§5)
    return typeof v === "number" && Math.round(v) === v && v < 9007199254740992 && v > -9007199254740992
}

/** Decodes and checks every field; never throws. Any field missing or out of range refuses it whole. */
export function decodeDeviceConfig(text: string): DeviceConfigResult {
    let value: any
    try {
        value = JSON.parse(text)
    } catch (e) {
        return { error: "not JSON", version: 0 }
    }
    if (value === null || typeof value !== "object" || Array.isArray(value))
        return { error: "not a JSON object", version: 0 }
    const version = value["version"]
    if (!isWhole(version) || version < 1) return { error: `"version" must be a whole number from 1`, version: 0 }
    const config: any = { version: version }
    for (let i = 0; i < NAMES.length; i++) {
        const name = NAMES[i]
        const v = value[name]
        const range = RANGES[i]
        if (v === undefined) return { error: `"${name}" is missing`, version: version }
        if (!isWhole(v) || v < range[0] || v > range[1])
            return { error: `"${name}" must be a whole number in ${range[0]}..${range[1]}`, version: version }
        config[name] = v
    }
    return { config: config as DeviceConfig, version: version }
}

/** The reason a reading carries (`cfgErr`): the refused version first, cut to fit. */
export function refusalText(result: DeviceConfigResult): string {
    const text = `${result.version > 0 ? result.version : "?"}: ${result.error}`
    return text.length > MAX_ERROR ? text.slice(0, MAX_ERROR) : text
}
