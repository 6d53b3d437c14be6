/**
 * The nightlight wire protocol: one typed map from topic to payload, shared by the server, the
 * simulated device tools and the tests. The firmware mirrors it in `src/protocol.ts`; the end-to-end
 * test proves the two agree.
 *
 * Compatible with IoT for Beginners lesson 4:
 *   `<id>/telemetry`  device → server  {"light": N}        N in 0..1023 (relative light level)
 *   `<id>/commands`   server → device  {"led_on": boolean}
 * Extra fields are allowed and ignored, so later protocol versions stay readable by the lesson's code
 * (and a newer device's readings by this server); the values of the fields we know are checked strictly
 * (zod schemas below), and a payload over MAX_PAYLOAD_BYTES is refused before it is parsed.
 *
 * The reliable link (README "Wire protocol") adds optional fields and two topics:
 *   telemetry  + "seq" (1, 2, ... per boot), "boot" (random id per device start), "t" (device uptime ms),
 *                "oldest" (the oldest reading the device still holds: what it has not seen acknowledged),
 *                "led" (the LED as it is), "local" (true: the device decided itself), "dropped" (readings
 *                the full outbox lost since boot)
 *   commands   + "seq" (strictly increasing per device, also across server restarts), "t" (server ms
 *                since 1970), "manual" (true: a person switched it; it holds until the automatic decision
 *                changes, on every server of a share group); published retained with QoS 1
 *   `<id>/acks`    server → device  {"boot": B, "seq": S}   every reading of boot B up to S is stored;
 *                retained, so a restarted server knows where each device was
 *   `<id>/status`  device → all     "online" | "offline"  retained; "offline" is the device's last will
 */
import { z } from "zod"

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
    manual?: boolean
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

/** Longest device id: one topic level of a few words, far below MQTT's 64 KB topics. */
export const MAX_DEVICE_ID_LENGTH = 64
/**
 * A device id is one topic level: no wildcards, no separators, no control characters, no spaces or
 * other Unicode (they would be ambiguous in logs and URLs).
 */
const DEVICE_ID_PATTERN = new RegExp(`^[A-Za-z0-9_.:-]{1,${MAX_DEVICE_ID_LENGTH}}$`)
/** `<id>/telemetry` with the longest id: anything longer is refused before it is searched. */
const MAX_TOPIC_LENGTH = MAX_DEVICE_ID_LENGTH + "/telemetry".length

export function isValidDeviceId(id: string): boolean {
    return DEVICE_ID_PATTERN.test(id)
}

/** Splits `<id>/<kind>`; undefined when the topic is not one of ours or the id is not valid. */
export function parseTopic(topic: string): { deviceId: string; kind: TopicKind } | undefined {
    if (topic.length > MAX_TOPIC_LENGTH) return undefined
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

/**
 * The first three reasons are about the bytes, so they are checked by hand before any schema runs:
 * the size before decoding (a 100 KB payload is never parsed), then JSON, then "an object". Only then
 * does a schema look at the fields: that keeps the four reasons apart in the counters.
 */
function parseJsonObject(payload: Uint8Array | string): Parsed<Record<string, unknown>> {
    const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength
    if (size > MAX_PAYLOAD_BYTES)
        return { ok: false, reason: "too_large", detail: `payload is ${size} bytes, limit ${MAX_PAYLOAD_BYTES}` }
    const text = typeof payload === "string" ? payload : utf8(payload)
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

/** The bytes as UTF-8 text; a Buffer (what the buses deliver) is read in place, not copied first. */
function utf8(bytes: Uint8Array): string {
    return Buffer.isBuffer(bytes)
        ? bytes.toString("utf8")
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
}

/** A boot id: 1-16 letters or digits. */
const BOOT_PATTERN = /^[A-Za-z0-9]{1,16}$/

/**
 * What each field must be, in the words of a rejection's detail (`"seq" must be a whole number from 1,
 * got 0`): people read these in the log, so every way to miss a field gets the same plain sentence.
 */
const EXPECTED = {
    light: `a number in 0..${LIGHT_MAX}`,
    seq: "a whole number from 1",
    boot: "1-16 letters or digits",
    t: "a whole number of milliseconds",
    flag: "true or false",
    oldest: "a whole number from 1 up to seq",
    dropped: "a whole number from 0",
    commandT: "milliseconds since 1970",
} as const

/**
 * A whole number from `min` up. z.int() is a safe integer: 2^53 and more, fractions, NaN and Infinity
 * (`1e999` parses to Infinity) all fail, as do strings and null.
 */
const count = (min: number, error: string) => z.int({ error }).min(min, { error })
const flag = () => z.boolean({ error: EXPECTED.flag })

/**
 * Telemetry. Values of known fields are strict; unknown fields are allowed and dropped (zod's default
 * for z.object, not z.strictObject): the lesson's code reads `light` and ignores the rest, so a later
 * protocol version's extra field must not make today's server refuse the reading, nor the other way
 * round. The cross-field rules (seq and boot together, oldest up to seq) come after the fields.
 */
const telemetrySchema = z
    .object({
        light: z
            .number({ error: EXPECTED.light })
            .min(0, { error: EXPECTED.light })
            .max(LIGHT_MAX, { error: EXPECTED.light }),
        seq: count(1, EXPECTED.seq).optional(),
        boot: z.string({ error: EXPECTED.boot }).regex(BOOT_PATTERN, { error: EXPECTED.boot }).optional(),
        t: count(0, EXPECTED.t).optional(),
        led: flag().optional(),
        local: flag().optional(),
        oldest: count(1, EXPECTED.oldest).optional(),
        dropped: count(0, EXPECTED.dropped).optional(),
    })
    .superRefine((v, ctx) => {
        // The lesson's device sends neither; ours sends both: a seq means nothing without its boot.
        if (v.seq !== undefined && v.boot === undefined)
            ctx.addIssue({ code: "custom", path: ["boot"], message: EXPECTED.boot })
        if (v.boot !== undefined && v.seq === undefined)
            ctx.addIssue({ code: "custom", path: ["seq"], message: EXPECTED.seq })
        if (v.oldest !== undefined && (v.seq === undefined || v.oldest > v.seq))
            ctx.addIssue({ code: "custom", path: ["oldest"], message: EXPECTED.oldest })
    })

/** Commands: ours carry seq and t; the lesson's carry led_on alone. Extra fields ignored, as for telemetry. */
const commandSchema = z.object({
    led_on: flag(),
    seq: count(1, EXPECTED.seq).optional(),
    t: count(0, EXPECTED.commandT).optional(),
    manual: flag().optional(),
})

const ackSchema = z.object({
    boot: z.string({ error: EXPECTED.boot }).regex(BOOT_PATTERN, { error: EXPECTED.boot }),
    seq: count(1, EXPECTED.seq),
})

/**
 * The common case without the schema: a well-formed payload, checked field by field by the same rules
 * (a safe integer is what z.int() takes). Returns only the fields the schema knows, as zod does, or
 * undefined for anything unusual: the schema then runs and words the rejection. Same result in half the
 * CPU: 0.6 µs instead of 1.2 for our firmware's reading, JSON.parse included (measured).
 */
type FastCheck<T> = (o: Record<string, unknown>) => T | undefined

const isCount = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min
const isBoot = (v: unknown): v is string => typeof v === "string" && BOOT_PATTERN.test(v)
const isLight = (v: unknown): v is number => typeof v === "number" && v >= 0 && v <= LIGHT_MAX

const fastTelemetry: FastCheck<TelemetryPayload> = o => {
    const { light, seq, boot, t, led, local, oldest, dropped } = o
    if (!isLight(light)) return undefined
    // seq and boot come together; oldest only with a seq, and not above it
    if (seq === undefined ? boot !== undefined || oldest !== undefined : !isCount(seq, 1) || !isBoot(boot))
        return undefined
    if (oldest !== undefined && !(isCount(oldest, 1) && oldest <= (seq as number))) return undefined
    if (t !== undefined && !isCount(t, 0)) return undefined
    if (led !== undefined && typeof led !== "boolean") return undefined
    if (local !== undefined && typeof local !== "boolean") return undefined
    if (dropped !== undefined && !isCount(dropped, 0)) return undefined
    const value: TelemetryPayload = { light }
    if (seq !== undefined) value.seq = seq as number
    if (boot !== undefined) value.boot = boot as string
    if (t !== undefined) value.t = t
    if (led !== undefined) value.led = led
    if (local !== undefined) value.local = local
    if (oldest !== undefined) value.oldest = oldest
    if (dropped !== undefined) value.dropped = dropped
    return value
}

const fastCommand: FastCheck<CommandPayload> = o => {
    const { led_on, seq, t, manual } = o
    if (typeof led_on !== "boolean") return undefined
    if (seq !== undefined && !isCount(seq, 1)) return undefined
    if (t !== undefined && !isCount(t, 0)) return undefined
    if (manual !== undefined && typeof manual !== "boolean") return undefined
    const value: CommandPayload = { led_on }
    if (seq !== undefined) value.seq = seq
    if (t !== undefined) value.t = t
    if (manual !== undefined) value.manual = manual
    return value
}

const fastAck: FastCheck<AckPayload> = o => {
    const { boot, seq } = o
    return isBoot(boot) && isCount(seq, 1) ? { boot, seq } : undefined
}

/**
 * Runs a schema over a JSON object; the first problem becomes a `bad_field` detail naming the field.
 * Through the schema's Standard Schema interface rather than safeParse: same checks, same messages, but
 * no ZodError (an Error, with its stack trace) per rejection: a rejected reading costs 1.2 µs instead
 * of 2.7 (a valid one 1.2 µs with either).
 */
function parseFields<T>(schema: z.ZodType<T>, fast: FastCheck<T>, payload: Uint8Array | string): Parsed<T> {
    const obj = parseJsonObject(payload)
    if (!obj.ok) return obj
    const value = fast(obj.value)
    if (value !== undefined) return { ok: true, value }
    const result = schema["~standard"].validate(obj.value)
    // Our schemas have no async parts, so the result is never a promise.
    if (result instanceof Promise) throw new TypeError("a wire schema must be synchronous")
    if (result.issues === undefined) return { ok: true, value: result.value }
    const issue = result.issues[0]
    const segment = issue.path?.[0]
    const name = String((typeof segment === "object" ? segment.key : segment) ?? "payload")
    const got = preview(JSON.stringify(obj.value[name]) ?? "nothing")
    return { ok: false, reason: "bad_field", detail: `"${name}" must be ${issue.message}, got ${got}` }
}

export function parseTelemetry(payload: Uint8Array | string): Parsed<TelemetryPayload> {
    return parseFields(telemetrySchema, fastTelemetry, payload)
}

export function parseCommand(payload: Uint8Array | string): Parsed<CommandPayload> {
    return parseFields(commandSchema, fastCommand, payload)
}

export function parseAck(payload: Uint8Array | string): Parsed<AckPayload> {
    return parseFields(ackSchema, fastAck, payload)
}

export function parseStatus(payload: Uint8Array | string): StatusPayload | undefined {
    const text = typeof payload === "string" ? payload : utf8(payload)
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
