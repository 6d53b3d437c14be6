/**
 * The wire protocol (README "Wire protocol"), mirrored by the firmware's `src/protocol.ts` (the end-to-end
 * test proves they agree). Compatible with IoT for Beginners lesson 4; the reliable link adds optional fields.
 */

/** Largest light value in the lesson's units (a 10-bit ADC reading). */
export const LIGHT_MAX = 1023

/** Payloads are tiny; anything bigger than this is rejected before parsing. */
export const MAX_PAYLOAD_BYTES = 1024

/** The lesson's rule: the LED is on when light < 300. */
export const DEFAULT_THRESHOLD = 300

/** `<id>/telemetry`, device → server. */
export interface TelemetryPayload {
    /** 0..LIGHT_MAX, relative light level. */
    light: number
    /** 1, 2, ... per boot. */
    seq?: number
    /** A random id per device start. */
    boot?: string
    /** Device uptime, ms. */
    t?: number
    /** The LED as it is. */
    led?: boolean
    /** True: the device decided by itself. */
    local?: boolean
    /** Readings its full outbox lost since boot. */
    dropped?: number
    /** The oldest reading it still holds: what it has not seen acknowledged. */
    oldest?: number
    /** The version of `<id>/config` it runs; absent: none yet (the `.env` defaults) or the lesson's device. */
    cfg?: number
    /** Why it refused the last config it got (it kept the one it runs); absent once it applies a newer one. */
    cfgErr?: string
}
/** `<id>/commands`, server → device: retained, QoS 1. */
export interface CommandPayload {
    led_on: boolean
    /** Strictly increasing per device, also across server restarts. */
    seq?: number
    /** Server time, ms since 1970. */
    t?: number
    /** A person switched it: it holds until the automatic decision changes, on every server of a share group. */
    manual?: boolean
}
/** `<id>/acks`, retained: every reading of `boot` up to `seq` is stored. */
export interface AckPayload {
    boot: string
    seq: number
}
/** `<id>/status`, retained; "offline" is the device's last will. */
export type StatusPayload = "online" | "offline"

/**
 * `<id>/config`, server → device: retained, QoS 1. Every field is required: the firmware refuses a
 * partial or out-of-range config whole and keeps the one it runs. The values are this device's, resolved
 * by the server (today fleet-wide; per group and per device later, same shape). `version` grows with
 * every change of any device's config, so a device ignores a config not newer than the one it runs.
 */
export interface DeviceConfigPayload {
    version: number
    /** LED on when light < threshold (lesson units). */
    threshold: number
    /** Off again only when light >= threshold + band. */
    band: number
    /** Report at least this often (ms). */
    reportMs: number
    /** Report at once when the light moved by this much (lesson units). */
    minChange: number
    /** Decide the LED itself after this long without a word from the server (ms). */
    localAfterMs: number
}
export type DeviceConfigValues = Omit<DeviceConfigPayload, "version">

/** Each value's whole-number range: the firmware's own for its settings (src/config.ts CONFIG_RANGES). */
export const DEVICE_CONFIG_RANGES: Readonly<Record<keyof DeviceConfigValues, readonly [number, number]>> = {
    threshold: [1, LIGHT_MAX],
    band: [0, LIGHT_MAX],
    reportMs: [100, 3_600_000],
    minChange: [1, LIGHT_MAX],
    localAfterMs: [1000, 3_600_000],
}

/** The firmware's defaults (`.env.defaults`, src/config.ts): a device that never got a config runs these. */
export const DEFAULT_DEVICE_CONFIG: Readonly<DeviceConfigValues> = {
    threshold: 300,
    band: 100,
    reportMs: 2000,
    minChange: 20,
    localAfterMs: 10000,
}

/** Never below the clock in seconds, so it still grows after a server lost its database. */
export function nextConfigVersion(previous: number | undefined, nowMs: number): number {
    return Math.max((previous ?? 0) + 1, Math.floor(nowMs / 1000))
}

export interface TopicPayloads {
    telemetry: TelemetryPayload
    commands: CommandPayload
    acks: AckPayload
    status: StatusPayload
    config: DeviceConfigPayload
}
export type TopicKind = keyof TopicPayloads

export const topics = {
    telemetry: (deviceId: string) => `${deviceId}/telemetry`,
    commands: (deviceId: string) => `${deviceId}/commands`,
    acks: (deviceId: string) => `${deviceId}/acks`,
    status: (deviceId: string) => `${deviceId}/status`,
    config: (deviceId: string) => `${deviceId}/config`,
    /** What the server subscribes to: telemetry of every device. */
    allTelemetry: "+/telemetry",
    /** Retained state the server rebuilds itself from after a restart. */
    allCommands: "+/commands",
    allAcks: "+/acks",
    allStatus: "+/status",
} as const

/** The lesson's client ids: `<ID>nightlight_client` for the device, `<ID>nightlight_server` for the server. */
export const clientIds = {
    device: (deviceId: string) => `${deviceId}nightlight_client`,
    server: (deviceId: string) => `${deviceId}nightlight_server`,
}

/** Longest device id: one topic level of a few words, far below MQTT's 64 KB topics. */
export const MAX_DEVICE_ID_LENGTH = 64
/**
 * A device id is one topic level: no wildcards, no separators, no control characters, no spaces or
 * other Unicode (they would be ambiguous in logs and URLs). Not only dots either: "." and ".." are path
 * segments every URL parser folds away (`/api/devices/../history` is `/api/history`).
 */
const DEVICE_ID_PATTERN = new RegExp(`^(?!\\.+$)[A-Za-z0-9_.:-]{1,${MAX_DEVICE_ID_LENGTH}}$`)
export const DEVICE_ID_RULE = `1-${MAX_DEVICE_ID_LENGTH} letters, digits or _ . : -, not only dots`
/** `<id>/telemetry` with the longest id: anything longer is refused before it is searched. */
const MAX_TOPIC_LENGTH = MAX_DEVICE_ID_LENGTH + "/telemetry".length

export function isValidDeviceId(id: string): boolean {
    return DEVICE_ID_PATTERN.test(id)
}

/** The topics the server reads; it only writes `<id>/config`. */
export type ReadTopicKind = Exclude<TopicKind, "config">

export function parseTopic(topic: string): { deviceId: string; kind: ReadTopicKind } | undefined {
    if (topic.length > MAX_TOPIC_LENGTH) return undefined
    const slash = topic.indexOf("/")
    if (slash < 0 || topic.indexOf("/", slash + 1) >= 0) return undefined
    const deviceId = topic.slice(0, slash)
    const kind = topic.slice(slash + 1)
    if (kind !== "telemetry" && kind !== "commands" && kind !== "acks" && kind !== "status") return undefined
    if (!isValidDeviceId(deviceId)) return undefined
    return { deviceId, kind }
}

export function encode<K extends TopicKind>(_kind: K, payload: TopicPayloads[K]): string {
    return typeof payload === "string" ? payload : JSON.stringify(payload)
}

/**
 * Lesson units above the threshold before the LED goes off again: a sensor seeing its own LED gains tens
 * of units, and without a band it would flicker. 0 gives the lesson's exact rule.
 */
export const DEFAULT_BAND = 100

/** The lesson's decision rule, without memory. */
export function decideLed(light: number, threshold: number = DEFAULT_THRESHOLD): boolean {
    return light < threshold
}

/** Shared with the firmware (src/light.ts); with band 0 or no previous state, the lesson's rule. */
export function decideLedWithBand(
    light: number,
    previous: boolean | undefined,
    threshold: number,
    band: number
): boolean {
    if (light < threshold) return true
    if (light >= threshold + band) return false
    return previous ?? false
}

/** Never below the clock in ms, so it still increases after a restart that lost all state. */
export function nextCommandSeq(previous: number | undefined, nowMs: number): number {
    return Math.max((previous ?? 0) + 1, Math.floor(nowMs))
}
