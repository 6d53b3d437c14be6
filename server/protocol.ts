/**
 * The nightlight wire protocol: one typed map from topic to payload, shared by the server, the
 * simulated device tools and the tests. The firmware mirrors it in `src/protocol.ts`; the end-to-end
 * test proves the two agree.
 *
 * Compatible with IoT for Beginners lesson 4:
 *   `<id>/telemetry`  device → server  {"light": N}        N in 0..1023 (relative light level)
 *   `<id>/commands`   server → device  {"led_on": boolean}
 * Extra fields are allowed and ignored, so later protocol versions stay readable by the lesson's code.
 */

/** Largest light value in the lesson's units (a 10-bit ADC reading). */
export const LIGHT_MAX = 1023
/** The lesson's rule: the LED is on when light < 300. */
export const DEFAULT_THRESHOLD = 300
/** Payloads are tiny; anything bigger than this is rejected before parsing. */
export const MAX_PAYLOAD_BYTES = 1024

export interface TelemetryPayload {
    light: number
}
export interface CommandPayload {
    led_on: boolean
}

/** Topic → payload type. */
export interface TopicPayloads {
    telemetry: TelemetryPayload
    commands: CommandPayload
}
export type TopicKind = keyof TopicPayloads

export const topics = {
    telemetry: (deviceId: string) => `${deviceId}/telemetry`,
    commands: (deviceId: string) => `${deviceId}/commands`,
    /** What the server subscribes to: telemetry of every device. */
    allTelemetry: "+/telemetry",
} as const

/** The lesson's client ids: `<ID>nightlight_client` for the device, `<ID>nightlight_server` for the server. */
export const clientIds = {
    device: (deviceId: string) => `${deviceId}nightlight_client`,
    server: (deviceId: string) => `${deviceId}nightlight_server`,
}

/** A device id is one topic level: no wildcards, no separators, no control characters. */
const DEVICE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/

export function isValidDeviceId(id: string): boolean {
    return DEVICE_ID_PATTERN.test(id)
}

/** Splits `<id>/<kind>`; undefined when the topic is not one of ours or the id is not valid. */
export function parseTopic(topic: string): { deviceId: string; kind: TopicKind } | undefined {
    const slash = topic.indexOf("/")
    if (slash < 0 || topic.indexOf("/", slash + 1) >= 0) return undefined
    const deviceId = topic.slice(0, slash)
    const kind = topic.slice(slash + 1)
    if (kind !== "telemetry" && kind !== "commands") return undefined
    if (!isValidDeviceId(deviceId)) return undefined
    return { deviceId, kind }
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string }

/** Why a payload was rejected; the server counts rejections by these. */
export type RejectReason = "too_large" | "not_json" | "not_object" | "bad_field"

function parseJsonObject(payload: Uint8Array | string): Parsed<Record<string, unknown>> {
    const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength
    if (size > MAX_PAYLOAD_BYTES)
        return { ok: false, reason: "too_large", detail: `payload is ${size} bytes, limit ${MAX_PAYLOAD_BYTES}` }
    const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8")
    let value: unknown
    try {
        value = JSON.parse(text)
    } catch {
        return { ok: false, reason: "not_json", detail: `not JSON: ${preview(text)}` }
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
        return { ok: false, reason: "not_object", detail: `expected a JSON object, got ${preview(text)}` }
    return { ok: true, value: value as Record<string, unknown> }
}

export function parseTelemetry(payload: Uint8Array | string): Parsed<TelemetryPayload> {
    const obj = parseJsonObject(payload)
    if (!obj.ok) return obj
    const light = obj.value.light
    if (typeof light !== "number" || !Number.isFinite(light) || light < 0 || light > LIGHT_MAX)
        return {
            ok: false,
            reason: "bad_field",
            detail: `"light" must be a number in 0..${LIGHT_MAX}, got ${preview(JSON.stringify(light) ?? "nothing")}`,
        }
    return { ok: true, value: { light } }
}

export function parseCommand(payload: Uint8Array | string): Parsed<CommandPayload> {
    const obj = parseJsonObject(payload)
    if (!obj.ok) return obj
    const ledOn = obj.value.led_on
    if (typeof ledOn !== "boolean")
        return {
            ok: false,
            reason: "bad_field",
            detail: `"led_on" must be true or false, got ${preview(JSON.stringify(ledOn) ?? "nothing")}`,
        }
    return { ok: true, value: { led_on: ledOn } }
}

export function encode<K extends TopicKind>(_kind: K, payload: TopicPayloads[K]): string {
    return JSON.stringify(payload)
}

/** The lesson's decision rule. */
export function decideLed(light: number, threshold: number = DEFAULT_THRESHOLD): boolean {
    return light < threshold
}

function preview(text: string): string {
    const oneLine = text.replace(/[\u0000-\u001f\u007f]/g, "?")
    return oneLine.length > 60 ? `${oneLine.slice(0, 60)}…` : oneLine
}
