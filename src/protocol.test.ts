import { describe, expect, test } from "@devicescript/test"
import { commandsTopic, decodeCommand, deviceClientId, encodeTelemetry, telemetryTopic } from "./protocol"

describe("topics and client id", () => {
    test("follow the lesson", () => {
        expect(telemetryTopic("abc")).toBe("abc/telemetry")
        expect(commandsTopic("abc")).toBe("abc/commands")
        expect(deviceClientId("abc")).toBe("abcnightlight_client")
    })
})

describe("encodeTelemetry", () => {
    test("writes the lesson's payload", () => {
        expect(encodeTelemetry(123)).toBe('{"light":123}')
    })
})

describe("decodeCommand", () => {
    test("reads led_on true and false", () => {
        expect(decodeCommand('{"led_on": true}').ledOn).toBe(true)
        expect(decodeCommand('{"led_on":false}').ledOn).toBe(false)
        expect(decodeCommand('{"led_on":false}').error).toBe(undefined)
    })
    test("ignores extra fields", () => {
        expect(decodeCommand('{"led_on":true,"seq":4}').ledOn).toBe(true)
    })
    test("refuses malformed commands without throwing", () => {
        const bad = ["", "garbage", "[]", "null", "42", '{"led_on":"yes"}', '{"led_on":1}', "{}", '{"led_on":true']
        for (const text of bad) {
            const r = decodeCommand(text)
            expect(r.ledOn).toBe(undefined)
            expect(r.error === undefined).toBe(false)
        }
    })
})
