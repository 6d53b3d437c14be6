/**
 * Device settings, from `.env.defaults` and `.env.local`, deployed by `devs devtools` on a board and by
 * `sim/deploy.ts` in the simulator (`devs run` pushes none). Names are at most 13 characters
 * (docs/devicescript.md §2).
 */
import * as ds from "@devicescript/core"
import { readSetting } from "@devicescript/settings"
import { DEFAULT_REPORT_POLICY, type ReportPolicy } from "./light"
import { DEFAULT_OUTBOX_CAPACITY } from "./outbox"

/** Five missed 2 s reports' worth of silence before the device takes over its LED. */
export const DEFAULT_LOCAL_AFTER_MS = 10000

export type Proto = "tcp" | "tls"

export interface Config {
    deviceId: string
    host: string
    port: number
    proto: Proto
    user?: string
    password?: string
    report: ReportPolicy
    /** The device decides the LED itself after this long without a word from the server (ms). */
    localAfterMs: number
    /** Readings kept until the server acknowledges them. */
    outboxSize: number
}

/**
 * The whole-number range of each setting the server may also send (`<id>/config`, src/device-config.ts);
 * the server checks the same ones (server/protocol/contract.ts DEVICE_CONFIG_RANGES).
 */
export const REPORT_MS_RANGE = [100, 3600000]
export const MIN_CHANGE_RANGE = [1, 1023]
export const THRESHOLD_RANGE = [1, 1023]
export const BAND_RANGE = [0, 1023]
export const LOCAL_AFTER_RANGE = [1000, 3600000]

/** Raw setting values as read (JSON-decoded), keyed by setting name. */
export type RawSettings = Record<string, any>

export const SETTING_KEYS = [
    "DEVICE_ID",
    "MQTT_HOST",
    "MQTT_PORT",
    "MQTT_PROTO",
    "MQTT_USER",
    "MQTT_PASS",
    "REPORT_MS",
    "MIN_CHANGE",
    "THRESHOLD",
    "BAND",
    "LOCAL_AFTER",
    "OUTBOX_SIZE",
]

/** Validates raw settings; falls back to defaults for missing ones. Throws an Error naming the setting. */
export function parseConfig(raw: RawSettings, selfId: string): Config {
    const deviceId = str(raw, "DEVICE_ID", `nightlight-${selfId.slice(0, 8).toLowerCase()}`)
    if (!isTopicLevel(deviceId))
        throw new Error(
            `setting DEVICE_ID: "${deviceId}" must be 1-64 letters, digits, "-", "_", "." or ":", not only dots`
        )
    const proto = str(raw, "MQTT_PROTO", "tcp")
    if (proto !== "tcp" && proto !== "tls") throw new Error(`setting MQTT_PROTO: "${proto}" must be "tcp" or "tls"`)
    const port = int(raw, "MQTT_PORT", proto === "tls" ? 8883 : 1883, 1, 65535)
    const user = str(raw, "MQTT_USER", "")
    const password = str(raw, "MQTT_PASS", "")
    return {
        deviceId: deviceId,
        host: str(raw, "MQTT_HOST", "127.0.0.1"),
        port: port,
        proto: proto,
        user: user || undefined,
        password: password || undefined,
        report: {
            intervalMs: ranged(raw, "REPORT_MS", DEFAULT_REPORT_POLICY.intervalMs, REPORT_MS_RANGE),
            minChange: ranged(raw, "MIN_CHANGE", DEFAULT_REPORT_POLICY.minChange, MIN_CHANGE_RANGE),
            minGapMs: DEFAULT_REPORT_POLICY.minGapMs,
            threshold: ranged(raw, "THRESHOLD", DEFAULT_REPORT_POLICY.threshold, THRESHOLD_RANGE),
            band: ranged(raw, "BAND", DEFAULT_REPORT_POLICY.band, BAND_RANGE),
        },
        localAfterMs: ranged(raw, "LOCAL_AFTER", DEFAULT_LOCAL_AFTER_MS, LOCAL_AFTER_RANGE),
        outboxSize: int(raw, "OUTBOX_SIZE", DEFAULT_OUTBOX_CAPACITY, 10, 5000),
    }
}

/** Reads every setting from the device's settings store. */
export async function readConfig(): Promise<Config> {
    const raw: RawSettings = {}
    for (const key of SETTING_KEYS) {
        const value = await readSetting(key, undefined)
        if (value !== undefined) raw[key] = value
    }
    return parseConfig(raw, ds.deviceIdentifier("self"))
}

function str(raw: RawSettings, key: string, fallback: string): string {
    const v = raw[key]
    if (v === undefined || v === null) return fallback
    return "" + v
}

function ranged(raw: RawSettings, key: string, fallback: number, range: number[]): number {
    return int(raw, key, fallback, range[0], range[1])
}

function int(raw: RawSettings, key: string, fallback: number, min: number, max: number): number {
    const v = raw[key]
    if (v === undefined || v === null || v === "") return fallback
    const n = typeof v === "number" ? v : parseInt("" + v)
    if (isNaN(n) || n !== Math.round(n) || n < min || n > max)
        throw new Error(`setting ${key}: "${v}" must be a whole number in ${min}..${max}`)
    return n
}

/** One topic level the server accepts as a device id (server/protocol/contract.ts): not only dots, which URLs fold. */
function isTopicLevel(id: string): boolean {
    if (id.length < 1 || id.length > 64) return false
    let dots = 0
    for (let i = 0; i < id.length; i++) {
        const c = id.charCodeAt(i)
        const ok =
            (c >= 48 && c <= 57) ||
            (c >= 65 && c <= 90) ||
            (c >= 97 && c <= 122) ||
            c === 45 ||
            c === 95 ||
            c === 46 ||
            c === 58
        if (!ok) return false
        if (c === 46) dots++
    }
    return dots < id.length
}
