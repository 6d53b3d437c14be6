import { describe, expect, test } from "@devicescript/test"
import {
    acksTopic,
    commandsTopic,
    decodeAck,
    decodeCommand,
    deviceClientId,
    encodeTelemetry,
    statusTopic,
    telemetryTopic,
} from "./protocol"

describe("topics and client id", () => {
    test("follow the lesson, plus acks and status", () => {
        expect(telemetryTopic("abc")).toBe("abc/telemetry")
        expect(commandsTopic("abc")).toBe("abc/commands")
        expect(acksTopic("abc")).toBe("abc/acks")
        expect(statusTopic("abc")).toBe("abc/status")
        expect(deviceClientId("abc")).toBe("abcnightlight_client")
    })
})

describe("encodeTelemetry", () => {
    test("starts with the lesson's field and adds the reliable-link ones", () => {
        const text = encodeTelemetry({ seq: 7, t: 12000, light: 123, led: true, local: false }, "b00t", 5, 2)
        expect(text).toBe(
            '{"light":123,"seq":7,"boot":"b00t","oldest":5,"t":12000,"led":true,"local":false,"dropped":2}'
        )
    })
})

describe("decodeCommand", () => {
    test("reads the lesson's command, without a sequence", () => {
        expect(decodeCommand('{"led_on": true}').ledOn).toBe(true)
        expect(decodeCommand('{"led_on":false}').ledOn).toBe(false)
        expect(decodeCommand('{"led_on":false}').seq).toBe(0)
        expect(decodeCommand('{"led_on":false}').error).toBe(undefined)
    })
    test("reads the sequence of our server's commands and ignores extra fields", () => {
        const c = decodeCommand('{"led_on":true,"seq":1764091234567,"t":1764091234567,"x":1}')
        expect(c.ledOn).toBe(true)
        expect(c.seq).toBe(1764091234567)
        expect(c.manual).toBe(false)
    })
    test("reads a person's switch: manual only when it is true", () => {
        expect(decodeCommand('{"led_on":true,"seq":5,"manual":true}').manual).toBe(true)
        expect(decodeCommand('{"led_on":true,"seq":5,"manual":"yes"}').manual).toBe(false)
    })
    test("refuses malformed commands without throwing", () => {
        const bad = ["", "garbage", "[]", "null", "42", '{"led_on":"yes"}', '{"led_on":1}', "{}", '{"led_on":true']
        for (const text of bad) {
            const r = decodeCommand(text)
            expect(r.ledOn).toBe(undefined)
            expect(r.error === undefined).toBe(false)
        }
        expect(decodeCommand('{"led_on":true,"seq":-3}').error === undefined).toBe(false)
        expect(decodeCommand('{"led_on":true,"seq":"9"}').error === undefined).toBe(false)
    })
})

describe("decodeAck", () => {
    test("reads boot and seq", () => {
        const a = decodeAck('{"boot":"ab12","seq":99}')
        expect(a.boot).toBe("ab12")
        expect(a.seq).toBe(99)
    })
    test("refuses anything else", () => {
        expect(decodeAck("nope").error === undefined).toBe(false)
        expect(decodeAck('{"seq":1}').error === undefined).toBe(false)
        expect(decodeAck('{"boot":"x","seq":0}').error === undefined).toBe(false)
    })
})
