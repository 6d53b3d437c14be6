// The shared wire contract (server/protocol.ts): what a valid message is, and why others are refused.
import { describe, expect, it } from "vitest"
import {
    decideLedWithBand,
    nextCommandSeq,
    parseAck,
    parseCommand,
    parseStatus,
    parseTelemetry,
} from "../server/protocol"

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

    it.each([
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

describe("commands, acks and status", () => {
    it("parse what the server sends and the device's status", () => {
        expect(parseCommand('{"led_on":true,"seq":9,"t":9}')).toEqual({
            ok: true,
            value: { led_on: true, seq: 9, t: 9 },
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

    it("command numbers rise past the last one and never fall below the clock", () => {
        expect(nextCommandSeq(undefined, 1000)).toBe(1000)
        expect(nextCommandSeq(5000, 1000)).toBe(5001)
        expect(nextCommandSeq(5000, 9000.7)).toBe(9000)
    })
})
