/**
 * Hostile telemetry for test/whole-server/fuzz.test.ts and fuzz-long.ts: malformed payloads and topics,
 * each labelled with what the server must do with it, seeded so a failure reproduces. The labels come
 * from how each message is built, never from the server's parser: the test compares the two.
 * Malformed MQTT packets are in raw-mqtt.ts.
 */
import type { RejectionReason } from "../../server/controller/events"
import { MAX_PAYLOAD_BYTES } from "../../server/protocol/contract"

/** What the server must do: count it under a rejection reason, or never see it (no subscription matches). */
export type Expected = RejectionReason | "unrouted"

export interface HostileMessage {
    topic: string
    payload: Buffer
    qos: 0 | 1 | 2
    retain: boolean
    expect: Expected
    /** What kind of damage, for the summary and for a failing case's message. */
    kind: string
}

/** A small fast seeded PRNG (mulberry32): the same seed gives the same messages. */
export function seededRandom(seed: number): () => number {
    let a = seed >>> 0
    return () => {
        a = (a + 0x6d2b79f5) >>> 0
        let t = a
        t = Math.imul(t ^ (t >>> 15), t | 1)
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
}

export type Rand = () => number
const int = (r: Rand, n: number) => Math.floor(r() * n)
const pick = <T>(r: Rand, items: readonly T[]): T => items[int(r, items.length)]
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const ID_CHARS = `${ALNUM}_.:-`
const word = (r: Rand, chars: string, length: number) =>
    Array.from({ length }, () => chars[int(r, chars.length)]).join("")

/** A telemetry object our firmware could send, as [field, JSON text] pairs (texts so values can be raw). */
function validFields(r: Rand): [string, string][] {
    const seq = 1 + int(r, 100_000)
    const fields: [string, unknown][] = [
        ["light", r() < 0.5 ? int(r, 1024) : Math.round(r() * 102300) / 100],
        ["seq", seq],
        ["boot", word(r, ALNUM, 1 + int(r, 16))],
        ["t", int(r, 1e9)],
        ["led", r() < 0.5],
        ["local", r() < 0.5],
        ["oldest", 1 + int(r, seq)],
        ["dropped", int(r, 100)],
    ]
    // Unknown fields are allowed and ignored: they must change nothing.
    if (r() < 0.3) fields.push([pick(r, ["version", "rssi", "fw", "x"]), pick(r, [2, "1.2.3", null, [1], { a: 1 }])])
    return fields.map(([k, v]) => [k, JSON.stringify(v)])
}

const objectText = (fields: [string, string][]) => `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`

/** JSON texts of the wrong type for a number or a boolean field. */
const WRONG_TYPES = ['"x"', '""', "null", "[]", "{}", "[1]", '{"v":1}', '"\\u0000"', '"💡"', '"1"']
/** ... and for the boot id, a string field ("x" and "1" would be valid boot ids). */
const WRONG_TYPES_FOR_BOOT = ["null", "[]", "{}", '["b1"]', '{"v":1}', "5", "true"]
/** Wrong values per field, as JSON text; `1e999` parses to Infinity, `99999999999999999999` to 1e20. */
const WRONG_VALUES: Record<string, readonly string[]> = {
    light: ["-1", "-0.001", "1023.5", "1024", "1e999", "-1e999", "1e308", "99999999999999999999", "true"],
    seq: ["0", "-1", "1.5", "9007199254740992", "1e999", "1e20", "false"],
    boot: ['"a b"', '"a/b"', '"a+b"', '"ü"', '"\\n"', '"abcdefghijklmnopq"', "123", "true", '"\\u007f"'],
    t: ["-1", "0.5", "1e999", "-1e999", "9007199254740993", "true"],
    led: ["0", "1", '"true"', '"on"'],
    local: ["0", "1", '"false"'],
    oldest: ["0", "1.5", "1e999", "-3"],
    dropped: ["-1", "2.5", "1e999", "true"],
}

/** A telemetry object with one field wrong (or missing, or a rule between fields broken). */
function badFieldPayload(r: Rand): { text: string | Buffer; kind: string } {
    const fields = validFields(r)
    const roll = r()
    if (roll < 0.06) return { text: objectText(fields.filter(([k]) => k !== "light")), kind: "light missing" }
    if (roll < 0.1) return { text: objectText(fields.filter(([k]) => k !== "boot")), kind: "seq without boot" }
    if (roll < 0.14) {
        const seq = Number(fields[1][1])
        fields[6][1] = String(seq + 1 + int(r, 1000))
        return { text: objectText(fields), kind: "oldest above seq" }
    }
    if (roll < 0.18) {
        // deep nesting where a number belongs
        const depth = 1 + int(r, 60)
        fields[0][1] = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`
        return { text: objectText(fields), kind: "nested light" }
    }
    if (roll < 0.21) {
        // invalid UTF-8 in the boot id decodes to U+FFFD: valid JSON, a bad boot id
        const text = objectText(fields.map(([k, v]) => [k, k === "boot" ? '"BOOT"' : v]))
        const bytes = Buffer.from(text)
        const at = bytes.indexOf("BOOT")
        bytes[at] = 0xff
        bytes[at + 1] = 0xfe
        return { text: bytes, kind: "invalid UTF-8 in boot" }
    }
    if (roll < 0.24) {
        // a control character in a key: then "light" is missing
        return { text: objectText([["li\u0000ght", "5"]]), kind: "control char in key" }
    }
    const i = int(r, fields.length > 8 ? 8 : fields.length)
    const name = fields[i][0]
    const wrongTypes = name === "boot" ? WRONG_TYPES_FOR_BOOT : WRONG_TYPES
    fields[i][1] = r() < 0.35 ? pick(r, wrongTypes) : pick(r, WRONG_VALUES[name])
    return { text: objectText(fields), kind: `wrong ${name}` }
}

/** Not JSON at all, by construction. */
function notJsonPayload(r: Rand): { text: string | Buffer; kind: string } {
    const valid = objectText(validFields(r))
    switch (int(r, 10)) {
        case 0: {
            // "~" cannot start a JSON text, whatever follows
            const bytes = Buffer.alloc(1 + int(r, 200))
            for (let i = 1; i < bytes.length; i++) bytes[i] = int(r, 256)
            bytes[0] = 0x7e
            return { text: bytes, kind: "binary" }
        }
        case 1:
            return { text: valid.slice(0, int(r, valid.length - 1)), kind: "truncated" }
        case 2:
            return {
                text: `{"light":${pick(r, ["NaN", "Infinity", "-Infinity", "undefined", "0x10", "+1", ".5", "01"])}}`,
                kind: "not a JSON number",
            }
        case 3:
            return {
                text: pick(r, ["{'light': 1}", '{"light":1,}', "{light:1}", '{"light":1 /* c */}', "{"]),
                kind: "JavaScript, not JSON",
            }
        case 4:
            return { text: `{"light":1,"boot":"a${String.fromCharCode(1 + int(r, 31))}b"}`, kind: "raw control char" }
        case 5:
            return { text: `\ufeff${valid}`, kind: "byte order mark" }
        case 6:
            return { text: `${valid}${valid}`, kind: "two documents" }
        case 7:
            return { text: Buffer.concat([Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from(valid)]), kind: "invalid UTF-8" }
        case 8:
            return { text: pick(r, ["", " ", "\n", "\u0000"]), kind: "empty" }
        default:
            return {
                text: `x\n[12:00:00.000] INFO: Sending message: {"led_on":true} to ${word(r, ALNUM, 5)}`,
                kind: "log forgery",
            }
    }
}

/** JSON, but not an object. */
function notObjectPayload(r: Rand): { text: string; kind: string } {
    if (r() < 0.25) {
        const depth = 1 + int(r, 500)
        return { text: `${"[".repeat(depth)}${"]".repeat(depth)}`, kind: "nested arrays" }
    }
    const text = pick(r, ["null", "true", "false", "0", "-1", "1e999", '"light"', "[]", '[{"light":1}]', "[100]", '""'])
    return { text, kind: "not an object" }
}

/** Over the cap: a valid reading padded, or garbage; mostly a few KB, sometimes up to 64 KB. */
function tooLargePayload(r: Rand): { text: string; kind: string } {
    const size = MAX_PAYLOAD_BYTES + 1 + (r() < 0.05 ? int(r, 64 * 1024) : int(r, 3000))
    if (r() < 0.7) {
        const head = `{"light":1,"pad":"`
        return { text: `${head}${"x".repeat(Math.max(0, size - head.length - 2))}"}`, kind: "padded reading" }
    }
    return { text: "~".repeat(size), kind: "big garbage" }
}

/** An id that is one MQTT topic level, but not a valid device id. */
function badId(r: Rand): { id: string; kind: string } {
    const base = word(r, ID_CHARS, 1 + int(r, 20))
    switch (int(r, 6)) {
        case 0:
            return { id: word(r, ID_CHARS, 65 + int(r, r() < 0.1 ? 2000 : 100)), kind: "id too long" }
        case 1: {
            const control = String.fromCharCode(pick(r, [int(r, 32), 0x7f, 0x80 + int(r, 32)]))
            return { id: `${base}${control}${base}`, kind: "control char in id" }
        }
        case 2:
            return { id: `${base}${pick(r, ["é", "设备", "💡", "\u200b", "\ud800"])}`, kind: "unicode id" }
        case 3:
            return { id: `${base}${pick(r, [..." !\"'*$%&(),;<=>?@[\\]^`{|}~"])}${base}`, kind: "punctuation in id" }
        case 4:
            return { id: "", kind: "empty id" }
        default:
            return { id: `${base} ${base}`, kind: "space in id" }
    }
}

/** A topic no subscription of the server matches: extra or empty levels, `$` first, another kind. */
function unroutedTopic(r: Rand, id: string): { topic: string; kind: string } {
    const topic = pick(r, [
        `${id}/telemetry/x`,
        `x/${id}/telemetry`,
        `${id}//telemetry`,
        `${id}/telemetry/`,
        `/${id}/telemetry`,
        `$${id}/telemetry`, // "$..." topics never match a leading wildcard ("$SYS/..." is refused: see RAW_SCENARIOS)
        `${id}/telemetryx`,
        `${id}/Telemetry`,
        `${id}/light`,
    ])
    return { topic, kind: "not a telemetry topic" }
}

export interface GeneratorOptions {
    /** Valid device ids to send bad payloads to (the well-behaved device's among them). */
    ids: readonly string[]
}

/** Endless hostile messages: bad payloads on valid topics, bad ids, topics nobody subscribes to. */
export function hostileMessages(seed: number, options: GeneratorOptions): () => HostileMessage {
    const r = seededRandom(seed)
    return () => {
        const roll = r()
        const id = pick(r, options.ids)
        let topic = `${id}/telemetry`
        let built: { text: string | Buffer; kind: string }
        let expect: Expected
        if (roll < 0.3) [built, expect] = [badFieldPayload(r), "bad_field"]
        else if (roll < 0.55) [built, expect] = [notJsonPayload(r), "not_json"]
        else if (roll < 0.67) [built, expect] = [notObjectPayload(r), "not_object"]
        else if (roll < 0.75) [built, expect] = [tooLargePayload(r), "too_large"]
        else if (roll < 0.92) {
            const bad = badId(r)
            topic = `${bad.id}/telemetry`
            // any payload, even a valid one: the topic is refused first
            built = { text: r() < 0.5 ? objectText(validFields(r)) : notJsonPayload(r).text, kind: bad.kind }
            expect = "bad_topic"
        } else {
            const where = unroutedTopic(r, id)
            topic = where.topic
            built = { text: objectText(validFields(r)), kind: where.kind }
            expect = "unrouted"
        }
        const payload = Buffer.isBuffer(built.text) ? built.text : Buffer.from(built.text)
        // the size is checked first: whatever else is wrong, an oversized payload on a valid topic is too_large
        if (expect !== "bad_topic" && expect !== "unrouted" && payload.byteLength > MAX_PAYLOAD_BYTES)
            expect = "too_large"
        const qos = r() < 0.85 ? 0 : r() < 0.8 ? 1 : 2
        // a few retained: the broker keeps them, small ones only
        const retain = payload.byteLength < 200 && r() < 0.005
        return { topic, payload, qos, retain, expect, kind: built.kind }
    }
}
