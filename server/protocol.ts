/**
 * The nightlight wire protocol: one typed map from topic to payload, shared by the server, the
 * simulated device tools and the tests. The firmware mirrors it in `src/protocol.ts`; the end-to-end
 * test proves the two agree.
 *
 * Compatible with IoT for Beginners lesson 4:
 *   `<id>/telemetry`  device → server  {"light": N}        N in 0..1023 (relative light level)
 *   `<id>/commands`   server → device  {"led_on": boolean}
 * Extra fields are allowed and ignored, so later protocol versions stay readable by the lesson's code.
 *
 * The reliable link (README "Wire protocol") adds optional fields and two topics:
 *   telemetry  + "seq" (1, 2, ... per boot), "boot" (random id per device start), "t" (device uptime ms),
 *                "oldest" (the oldest reading the device still holds: what it has not seen acknowledged),
 *                "led" (the LED as it is), "local" (true: the device decided itself), "dropped" (readings
 *                the full outbox lost since boot)
 *   commands   + "seq" (strictly increasing per device, also across server restarts), "t" (server ms
 *                since 1970); published retained with QoS 1
 *   `<id>/acks`    server → device  {"boot": B, "seq": S}   every reading of boot B up to S is stored;
 *                retained, so a restarted server knows where each device was
 *   `<id>/status`  device → all     "online" | "offline"  retained; "offline" is the device's last will
 */

/** Largest light value in the lesson's units (a 10-bit ADC reading). */
export const LIGHT_MAX = 1023
/** The lesson's rule: the LED is on when light < 300. */
export const DEFAULT_THRESHOLD = 300
/** Payloads are tiny; anything bigger than this is rejected before parsing. */
export const MAX_PAYLOAD_BYTES = 1024

export interface TelemetryPayload {
    light: number
    seq?: number
    boot?: string
    t?: number
    led?: boolean
    local?: boolean
    dropped?: number
    oldest?: number
}
export interface CommandPayload {
    led_on: boolean
    seq?: number
    t?: number
}
export interface AckPayload {
    boot: string
    seq: number
}
export type StatusPayload = "online" | "offline"

/** Topic → payload type. */
export interface TopicPayloads {
    telemetry: TelemetryPayload
    commands: CommandPayload
    acks: AckPayload
    status: StatusPayload
}
export type TopicKind = keyof TopicPayloads

export const topics = {
    telemetry: (deviceId: string) => `${deviceId}/telemetry`,
    commands: (deviceId: string) => `${deviceId}/commands`,
    acks: (deviceId: string) => `${deviceId}/acks`,
    status: (deviceId: string) => `${deviceId}/status`,
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
    if (kind !== "telemetry" && kind !== "commands" && kind !== "acks" && kind !== "status") return undefined
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

/** A boot id: 1-16 letters or digits. */
const BOOT_PATTERN = /^[A-Za-z0-9]{1,16}$/

function isCount(v: unknown, min: number): v is number {
    return typeof v === "number" && Number.isSafeInteger(v) && v >= min
}

function badField(name: string, expected: string, value: unknown): { ok: false; reason: "bad_field"; detail: string } {
    return {
        ok: false,
        reason: "bad_field",
        detail: `"${name}" must be ${expected}, got ${preview(JSON.stringify(value) ?? "nothing")}`,
    }
}

export function parseTelemetry(payload: Uint8Array | string): Parsed<TelemetryPayload> {
    const obj = parseJsonObject(payload)
    if (!obj.ok) return obj
    const o = obj.value
    const light = o.light
    if (typeof light !== "number" || !Number.isFinite(light) || light < 0 || light > LIGHT_MAX)
        return badField("light", `a number in 0..${LIGHT_MAX}`, light)
    const value: TelemetryPayload = { light }
    // the reliable-link fields are optional (the lesson's device sends none), but checked when present
    if (o.seq !== undefined || o.boot !== undefined) {
        if (!isCount(o.seq, 1)) return badField("seq", "a whole number from 1", o.seq)
        if (typeof o.boot !== "string" || !BOOT_PATTERN.test(o.boot))
            return badField("boot", "1-16 letters or digits", o.boot)
        value.seq = o.seq
        value.boot = o.boot
    }
    if (o.t !== undefined) {
        if (!isCount(o.t, 0)) return badField("t", "a whole number of milliseconds", o.t)
        value.t = o.t
    }
    for (const flag of ["led", "local"] as const) {
        if (o[flag] === undefined) continue
        if (typeof o[flag] !== "boolean") return badField(flag, "true or false", o[flag])
        value[flag] = o[flag] as boolean
    }
    if (o.oldest !== undefined) {
        if (value.seq === undefined || !isCount(o.oldest, 1) || o.oldest > value.seq)
            return badField("oldest", "a whole number from 1 up to seq", o.oldest)
        value.oldest = o.oldest
    }
    if (o.dropped !== undefined) {
        if (!isCount(o.dropped, 0)) return badField("dropped", "a whole number from 0", o.dropped)
        value.dropped = o.dropped
    }
    return { ok: true, value }
}

export function parseCommand(payload: Uint8Array | string): Parsed<CommandPayload> {
    const obj = parseJsonObject(payload)
    if (!obj.ok) return obj
    const o = obj.value
    if (typeof o.led_on !== "boolean") return badField("led_on", "true or false", o.led_on)
    const value: CommandPayload = { led_on: o.led_on }
    if (o.seq !== undefined) {
        if (!isCount(o.seq, 1)) return badField("seq", "a whole number from 1", o.seq)
        value.seq = o.seq
    }
    if (o.t !== undefined) {
        if (!isCount(o.t, 0)) return badField("t", "milliseconds since 1970", o.t)
        value.t = o.t
    }
    return { ok: true, value }
}

export function parseAck(payload: Uint8Array | string): Parsed<AckPayload> {
    const obj = parseJsonObject(payload)
    if (!obj.ok) return obj
    const { boot, seq } = obj.value
    if (typeof boot !== "string" || !BOOT_PATTERN.test(boot)) return badField("boot", "1-16 letters or digits", boot)
    if (!isCount(seq, 1)) return badField("seq", "a whole number from 1", seq)
    return { ok: true, value: { boot, seq } }
}

export function parseStatus(payload: Uint8Array | string): StatusPayload | undefined {
    const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8")
    return text === "online" || text === "offline" ? text : undefined
}

export function encode<K extends TopicKind>(_kind: K, payload: TopicPayloads[K]): string {
    return typeof payload === "string" ? payload : JSON.stringify(payload)
}

/**
 * How far above the threshold the light must rise before the LED goes off again (lesson units). A
 * sensor that sees its own LED reads higher once the LED is on; without a band that extra light turns
 * the LED off, which darkens the sensor, which turns it on... Near a 5 mm LED a Grove light sensor gains
 * tens of units; 100 leaves room for that and for sensor noise. 0 gives the lesson's exact rule.
 */
export const DEFAULT_BAND = 100

/** The lesson's decision rule, without memory. */
export function decideLed(light: number, threshold: number = DEFAULT_THRESHOLD): boolean {
    return light < threshold
}

/**
 * The rule with hysteresis, shared by server and firmware (src/light.ts): on below `threshold`, off
 * from `threshold + band` up, unchanged in between. With band 0, or no previous state, it is exactly the
 * lesson's rule (on below 300, off from 300).
 */
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

/**
 * The next command sequence number for a device: strictly above the last one, and never below the
 * server's clock in ms, so it still increases after a restart that lost all state.
 */
export function nextCommandSeq(previous: number | undefined, nowMs: number): number {
    return Math.max((previous ?? 0) + 1, Math.floor(nowMs))
}

function preview(text: string): string {
    const oneLine = text.replace(/[\u0000-\u001f\u007f]/g, "?")
    return oneLine.length > 60 ? `${oneLine.slice(0, 60)}…` : oneLine
}
