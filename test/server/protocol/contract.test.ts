// The shared wire contract (server/protocol/contract.ts): what a valid message is, and why others are refused.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import {
    DEFAULT_DEVICE_CONFIG,
    DEVICE_CONFIG_RANGES,
    MAX_PAYLOAD_BYTES,
    decideLedWithBand,
    nextCommandSeq,
    nextConfigVersion,
    parseTopic,
} from "../../../server/protocol/contract"
import { parseAck, parseCommand, parseStatus, parseTelemetry } from "../../../server/protocol/parse"

describe("parseTelemetry", () => {
    it("takes the lesson's payload alone", () => {
        expect(parseTelemetry('{"light": 120}')).toEqual({ ok: true, value: { light: 120 } })
    })

    it("takes every reliable-link field our firmware sends", () => {
        const text = '{"light":123,"seq":7,"boot":"b00t","oldest":5,"t":12000,"led":true,"local":false,"dropped":2}'
        expect(parseTelemetry(text)).toEqual({
            ok: true,
            value: { light: 123, seq: 7, boot: "b00t", oldest: 5, t: 12000, led: true, local: false, dropped: 2 },
        })
    })

    it("takes the config a device runs, and why it refused one", () => {
        expect(parseTelemetry('{"light":5,"cfg":1764950000,"cfgErr":"8: \\"band\\" missing"}')).toEqual({
            ok: true,
            value: { light: 5, cfg: 1764950000, cfgErr: '8: "band" missing' },
        })
    })

    it.each([
        ['{"light":1,"cfg":0}', "cfg"],
        ['{"light":1,"cfg":"7"}', "cfg"],
        ['{"light":1,"cfg":1.5}', "cfg"],
        ['{"light":1,"cfgErr":""}', "cfgErr"],
        ['{"light":1,"cfgErr":7}', "cfgErr"],
        [`{"light":1,"cfgErr":"${"x".repeat(201)}"}`, "cfgErr"],
        ['{"light":1,"seq":0,"boot":"b"}', "seq"],
        ['{"light":1,"seq":2}', "boot"],
        ['{"light":1,"seq":2,"boot":"a/b"}', "boot"],
        ['{"light":1,"seq":2,"boot":"b","oldest":3}', "oldest"],
        ['{"light":1,"oldest":1}', "oldest"],
        ['{"light":1,"led":"on"}', "led"],
        ['{"light":1,"dropped":-1}', "dropped"],
        ['{"light":1,"t":1.5}', "t"],
    ])("refuses %s, naming %s", (text, field) => {
        const r = parseTelemetry(text)
        expect(r.ok).toBe(false)
        if (!r.ok) expect(r.detail).toContain(`"${field}"`)
    })
})

describe("hostile telemetry", () => {
    it.each([
        ['{"light": 1e999}', "light"], // JSON.parse gives Infinity
        ['{"light": -1e999}', "light"],
        ['{"light": -0.5}', "light"],
        ['{"light": 1023.01}', "light"],
        ['{"light": "100"}', "light"],
        ['{"light": true}', "light"],
        ['{"light": null}', "light"],
        ['{"light": [100]}', "light"],
        ['{"light": {"value": 100}}', "light"],
        ['{"lux": 100}', "light"],
        ['{"light":1,"seq":1e999,"boot":"b"}', "seq"],
        ['{"light":1,"seq":9007199254740992,"boot":"b"}', "seq"], // 2^53: no longer exact
        ['{"light":1,"seq":"7","boot":"b"}', "seq"],
        ['{"light":1,"seq":2.5,"boot":"b"}', "seq"],
        ['{"light":1,"boot":"b"}', "seq"],
        ['{"light":1,"seq":1,"boot":""}', "boot"],
        ['{"light":1,"seq":1,"boot":"abcdefghijklmnopq"}', "boot"],
        ['{"light":1,"seq":1,"boot":"b\\u0000"}', "boot"],
        ['{"light":1,"seq":1,"boot":"bé"}', "boot"],
        ['{"light":1,"seq":1,"boot":7}', "boot"],
        ['{"light":1,"t":-1}', "t"],
        ['{"light":1,"t":1e999}', "t"],
        ['{"light":1,"t":"12000"}', "t"],
        ['{"light":1,"local":1}', "local"],
        ['{"light":1,"led":null}', "led"],
        ['{"light":1,"dropped":0.5}', "dropped"],
        ['{"light":1,"dropped":1e300}', "dropped"],
        ['{"light":1,"seq":3,"boot":"b","oldest":0}', "oldest"],
    ])("refuses %s as bad_field, naming %s", (text, field) => {
        const r = parseTelemetry(text)
        expect(r).toMatchObject({ ok: false, reason: "bad_field" })
        if (!r.ok) expect(r.detail).toMatch(new RegExp(`^"${field}" must be `))
    })

    it("says what the field must be and what came, in one bounded line", () => {
        expect(parseTelemetry('{"light": 5000}')).toEqual({
            ok: false,
            reason: "bad_field",
            detail: '"light" must be a number in 0..1023, got 5000',
        })
        expect(parseTelemetry('{"light":1,"seq":0,"boot":"b"}')).toMatchObject({
            detail: '"seq" must be a whole number from 1, got 0',
        })
        const r = parseTelemetry(JSON.stringify({ light: `\n${"x".repeat(500)}` }))
        expect(r.ok).toBe(false)
        if (!r.ok) {
            expect(r.detail).not.toMatch(/[\u0000-\u001f]/)
            expect(r.detail.length).toBeLessThan(120)
        }
    })

    it.each([
        ["", "not_json"],
        ["{", "not_json"],
        ['{"light": NaN}', "not_json"],
        ['{"light": Infinity}', "not_json"],
        ["{'light': 1}", "not_json"],
        ['{"light": 1}}', "not_json"],
        ["\u0000", "not_json"],
        ["null", "not_object"],
        ["[]", "not_object"],
        ['"light"', "not_object"],
        ["42", "not_object"],
        ["true", "not_object"],
    ])("refuses %j as %s", (text, reason) => {
        expect(parseTelemetry(text)).toMatchObject({ ok: false, reason })
    })

    it("refuses a payload over the cap before parsing it, however it is sent", () => {
        const padded = (n: number) => `{"light":1,"p":"${"x".repeat(n - 18)}"}`
        expect(padded(MAX_PAYLOAD_BYTES)).toHaveLength(MAX_PAYLOAD_BYTES)
        expect(parseTelemetry(padded(MAX_PAYLOAD_BYTES)).ok).toBe(true)
        expect(parseTelemetry(padded(MAX_PAYLOAD_BYTES + 1))).toMatchObject({ ok: false, reason: "too_large" })
        // bytes, not characters: 400 three-byte characters are 1200 bytes
        expect(parseTelemetry(Buffer.from(`{"light":1,"p":"${"€".repeat(400)}"}`))).toMatchObject({
            reason: "too_large",
            detail: "payload is 1218 bytes, limit 1024",
        })
        expect(parseTelemetry(`{"light":1,"p":"${"€".repeat(400)}"}`)).toMatchObject({ reason: "too_large" })
    })

    it("ignores unknown fields and drops them from the value; __proto__ stays data", () => {
        const r = parseTelemetry('{"light":5,"version":2,"extra":{"a":[1]},"__proto__":{"polluted":true}}')
        expect(r).toEqual({ ok: true, value: { light: 5 } })
        expect(Object.keys(r.ok ? r.value : {})).toEqual(["light"])
        expect(({} as { polluted?: boolean }).polluted).toBeUndefined()
    })

    it("takes the edges of every range", () => {
        expect(parseTelemetry('{"light":0}').ok).toBe(true)
        expect(parseTelemetry('{"light":1023}').ok).toBe(true)
        expect(parseTelemetry('{"light":1,"seq":9007199254740991,"boot":"A1","t":0,"dropped":0}').ok).toBe(true)
        expect(parseTelemetry('{"light":1,"seq":4,"boot":"b","oldest":4}').ok).toBe(true)
        expect(parseTelemetry(Buffer.from('{"light": 12.5}'))).toEqual({ ok: true, value: { light: 12.5 } })
    })
})

describe("topics", () => {
    it("splits our four kinds", () => {
        expect(parseTopic("dev-1/telemetry")).toEqual({ deviceId: "dev-1", kind: "telemetry" })
        expect(parseTopic("a_b.c:d/status")).toEqual({ deviceId: "a_b.c:d", kind: "status" })
        expect(parseTopic(`${"x".repeat(64)}/acks`)).toEqual({ deviceId: "x".repeat(64), kind: "acks" })
    })

    it.each([
        ["+/telemetry"],
        ["#/telemetry"],
        ["a+b/telemetry"],
        ["/telemetry"],
        ["a b/telemetry"],
        ["a\u0000b/telemetry"],
        ["a\nb/telemetry"],
        ["a\u007fb/telemetry"],
        ["dévice/telemetry"],
        ["a/b/telemetry"],
        ["a//telemetry"],
        ["a/telemetry/"],
        ["a/Telemetry"],
        ["a/light"],
        ["telemetry"],
        [`${"x".repeat(65)}/telemetry`],
        [`${"x".repeat(100_000)}/telemetry`],
    ])("refuses %j", topic => {
        expect(parseTopic(topic)).toBeUndefined()
    })
})

describe("commands, acks and status", () => {
    it("parse what the server sends and the device's status", () => {
        expect(parseCommand('{"led_on":true,"seq":9,"t":9}')).toEqual({
            ok: true,
            value: { led_on: true, seq: 9, t: 9 },
        })
        // a person's switch says so (docs/scale-out.md: it holds on every server)
        expect(parseCommand('{"led_on":false,"seq":9,"t":9,"manual":true}')).toEqual({
            ok: true,
            value: { led_on: false, seq: 9, t: 9, manual: true },
        })
        expect(parseAck('{"boot":"b1","seq":4}')).toEqual({ ok: true, value: { boot: "b1", seq: 4 } })
        expect(parseAck('{"boot":"b1"}').ok).toBe(false)
        expect(parseStatus("online")).toBe("online")
        expect(parseStatus("maybe")).toBeUndefined()
    })
})

describe("the shared rules", () => {
    it("hysteresis: on below the threshold, off from threshold + band; band 0 is the lesson's rule", () => {
        expect(decideLedWithBand(299, false, 300, 100)).toBe(true)
        expect(decideLedWithBand(399, true, 300, 100)).toBe(true)
        expect(decideLedWithBand(400, true, 300, 100)).toBe(false)
        expect(decideLedWithBand(300, true, 300, 0)).toBe(false)
    })

    it("config versions rise past the last one and never fall below the clock in seconds", () => {
        expect(nextConfigVersion(undefined, 1_764_950_000_700)).toBe(1_764_950_000)
        expect(nextConfigVersion(1_764_950_000, 1_764_950_000_700)).toBe(1_764_950_001)
        expect(nextConfigVersion(3, 999)).toBe(4)
    })

    it("the server's device defaults are the firmware's (.env.defaults)", () => {
        const env = Object.fromEntries(
            readFileSync(new URL("../../../.env.defaults", import.meta.url), "utf8")
                .split("\n")
                .map(line => /^([A-Z_]+)=(\d+)$/.exec(line))
                .flatMap(m => (m ? [[m[1], Number(m[2])]] : []))
        )
        expect({
            threshold: env.THRESHOLD,
            band: env.BAND,
            reportMs: env.REPORT_MS,
            minChange: env.MIN_CHANGE,
            localAfterMs: env.LOCAL_AFTER,
        }).toEqual(DEFAULT_DEVICE_CONFIG)
    })

    it("the firmware's defaults are inside the ranges it checks", () => {
        for (const [name, [min, max]] of Object.entries(DEVICE_CONFIG_RANGES)) {
            const value = DEFAULT_DEVICE_CONFIG[name as keyof typeof DEFAULT_DEVICE_CONFIG]
            expect(value, name).toBeGreaterThanOrEqual(min)
            expect(value, name).toBeLessThanOrEqual(max)
        }
    })

    it("command numbers rise past the last one and never fall below the clock", () => {
        expect(nextCommandSeq(undefined, 1000)).toBe(1000)
        expect(nextCommandSeq(5000, 1000)).toBe(5001)
        expect(nextCommandSeq(5000, 9000.7)).toBe(9000)
    })
})

describe("hostile commands and acks", () => {
    it.each([
        ['{"led_on":"true"}', "led_on"],
        ['{"led_on":1}', "led_on"],
        ['{"led_on":null}', "led_on"],
        ['{"ledOn":true}', "led_on"],
        ['{"led_on":true,"seq":0}', "seq"],
        ['{"led_on":true,"seq":1e999}', "seq"],
        ['{"led_on":true,"t":-5}', "t"],
        ['{"led_on":true,"t":"now"}', "t"],
        ['{"led_on":true,"manual":"yes"}', "manual"],
    ])("a command %s is refused, naming %s", (text, field) => {
        const r = parseCommand(text)
        expect(r).toMatchObject({ ok: false, reason: "bad_field" })
        if (!r.ok) expect(r.detail).toContain(`"${field}"`)
    })

    it("a command from the lesson's server (led_on alone, extra fields) is taken", () => {
        expect(parseCommand('{"led_on": false, "by": "lesson"}')).toEqual({ ok: true, value: { led_on: false } })
    })

    it.each([
        ['{"boot":"b1","seq":0}', "seq"],
        ['{"boot":"b1","seq":1.5}', "seq"],
        ['{"boot":"b/1","seq":1}', "boot"],
        ['{"seq":1}', "boot"],
    ])("an ack %s is refused, naming %s", (text, field) => {
        const r = parseAck(text)
        expect(r).toMatchObject({ ok: false, reason: "bad_field" })
        if (!r.ok) expect(r.detail).toContain(`"${field}"`)
    })

    it("status is exactly online or offline", () => {
        expect(parseStatus(Buffer.from("offline"))).toBe("offline")
        for (const text of ["", "Online", "online\n", '"online"']) expect(parseStatus(text)).toBeUndefined()
    })
})
