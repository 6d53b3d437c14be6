/**
 * Bytes in, a typed payload or a counted rejection out, never a throw. A hand-written check takes the
 * common well-formed case first (half the CPU); the zod schemas word every rejection.
 */
import { z } from "zod"
import { LIGHT_MAX, MAX_PAYLOAD_BYTES } from "./contract"
import type { AckPayload, CommandPayload, StatusPayload, TelemetryPayload } from "./contract"

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string }

/** Why a payload was rejected; the server counts rejections by these. */
export type RejectReason = "too_large" | "not_json" | "not_object" | "bad_field"

/** Size, JSON and "an object" checked by hand before any schema, keeping the reasons apart in the counters. */
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

const BOOT_PATTERN = /^[A-Za-z0-9]{1,16}$/

/** A device's reason for refusing a config: one short sentence (the firmware cuts its own to 100). */
export const MAX_CONFIG_ERROR_LENGTH = 200

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
    cfg: "a whole number from 1",
    cfgErr: `1-${MAX_CONFIG_ERROR_LENGTH} characters`,
} as const

/**
 * A whole number from `min` up. z.int() is a safe integer: 2^53 and more, fractions, NaN and Infinity
 * (`1e999` parses to Infinity) all fail, as do strings and null.
 */
const count = (min: number, error: string) => z.int({ error }).min(min, { error })
const flag = () => z.boolean({ error: EXPECTED.flag })

/** z.object, not strictObject: a later version's extra field must not make today's server refuse a reading. */
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
        cfg: count(1, EXPECTED.cfg).optional(),
        cfgErr: z
            .string({ error: EXPECTED.cfgErr })
            .min(1, { error: EXPECTED.cfgErr })
            .max(MAX_CONFIG_ERROR_LENGTH, { error: EXPECTED.cfgErr })
            .optional(),
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

/** The same rules as the schema, for well-formed payloads; undefined lets the schema word the rejection. */
type FastCheck<T> = (o: Record<string, unknown>) => T | undefined

const isCount = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min
const isBoot = (v: unknown): v is string => typeof v === "string" && BOOT_PATTERN.test(v)
const isLight = (v: unknown): v is number => typeof v === "number" && v >= 0 && v <= LIGHT_MAX
const isConfigError = (v: unknown): v is string =>
    typeof v === "string" && v.length >= 1 && v.length <= MAX_CONFIG_ERROR_LENGTH

const fastTelemetry: FastCheck<TelemetryPayload> = o => {
    const { light, seq, boot, t, led, local, oldest, dropped, cfg, cfgErr } = o
    if (!isLight(light)) return undefined
    // seq and boot come together; oldest only with a seq, and not above it
    if (seq === undefined ? boot !== undefined || oldest !== undefined : !isCount(seq, 1) || !isBoot(boot))
        return undefined
    if (oldest !== undefined && !(isCount(oldest, 1) && oldest <= (seq as number))) return undefined
    if (t !== undefined && !isCount(t, 0)) return undefined
    if (led !== undefined && typeof led !== "boolean") return undefined
    if (local !== undefined && typeof local !== "boolean") return undefined
    if (dropped !== undefined && !isCount(dropped, 0)) return undefined
    if (cfg !== undefined && !isCount(cfg, 1)) return undefined
    if (cfgErr !== undefined && !isConfigError(cfgErr)) return undefined
    const value: TelemetryPayload = { light }
    if (seq !== undefined) value.seq = seq as number
    if (boot !== undefined) value.boot = boot as string
    if (t !== undefined) value.t = t
    if (led !== undefined) value.led = led
    if (local !== undefined) value.local = local
    if (oldest !== undefined) value.oldest = oldest
    if (dropped !== undefined) value.dropped = dropped
    if (cfg !== undefined) value.cfg = cfg
    if (cfgErr !== undefined) value.cfgErr = cfgErr
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

/** Standard Schema, not safeParse: no ZodError (with its stack trace) per rejection, which cost twice as much. */
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
    const got = preview(shown(obj.value[name]))
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

/** A field's value as JSON; a number too large for one (1e999 parses to Infinity) is not "null". */
function shown(value: unknown): string {
    if (typeof value === "number" && !Number.isFinite(value)) return String(value)
    return JSON.stringify(value) ?? "nothing"
}

/** A payload's text for a detail: control characters as "?", at most 60 characters. */
function preview(text: string): string {
    const oneLine = text.replace(/[\u0000-\u001f\u007f]/g, "?")
    return oneLine.length > 60 ? `${oneLine.slice(0, 60)}…` : oneLine
}
