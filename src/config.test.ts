import { describe, expect, test } from "@devicescript/test"
import { parseConfig } from "./config"

const SELF = "AB12CD34EF560718"

describe("parseConfig", () => {
    test("defaults to a local broker over plain TCP and a per-device id", () => {
        const c = parseConfig({}, SELF)
        expect(c.deviceId).toBe("nightlight-ab12cd34")
        expect(c.host).toBe("127.0.0.1")
        expect(c.port).toBe(1883)
        expect(c.proto).toBe("tcp")
        expect(c.user).toBe(undefined)
        expect(c.report.intervalMs).toBe(2000)
        expect(c.report.threshold).toBe(300)
        expect(c.report.band).toBe(100)
        expect(c.localAfterMs).toBe(10000)
        expect(c.outboxSize).toBe(600)
    })
    test("takes every setting", () => {
        const c = parseConfig(
            {
                DEVICE_ID: "hall",
                MQTT_HOST: "broker.lan",
                MQTT_PORT: 8884,
                MQTT_PROTO: "tls",
                MQTT_USER: "hall",
                MQTT_PASS: "s3cret",
                REPORT_MS: 5000,
                MIN_CHANGE: 50,
                THRESHOLD: 250,
                BAND: 40,
                LOCAL_AFTER: 3000,
                OUTBOX_SIZE: 100,
            },
            SELF
        )
        expect(c.deviceId).toBe("hall")
        expect(c.host).toBe("broker.lan")
        expect(c.port).toBe(8884)
        expect(c.proto).toBe("tls")
        expect(c.user).toBe("hall")
        expect(c.password).toBe("s3cret")
        expect(c.report.intervalMs).toBe(5000)
        expect(c.report.minChange).toBe(50)
        expect(c.report.threshold).toBe(250)
        expect(c.report.band).toBe(40)
        expect(c.localAfterMs).toBe(3000)
        expect(c.outboxSize).toBe(100)
    })
    test("TLS defaults to port 8883", () => {
        expect(parseConfig({ MQTT_PROTO: "tls" }, SELF).port).toBe(8883)
    })
    test("accepts a port written as a string", () => {
        expect(parseConfig({ MQTT_PORT: "1884" }, SELF).port).toBe(1884)
    })
    test("refuses bad values, naming the setting", () => {
        expect(() => parseConfig({ MQTT_PORT: 70000 }, SELF)).toThrow()
        expect(() => parseConfig({ MQTT_PROTO: "udp" }, SELF)).toThrow()
        expect(() => parseConfig({ DEVICE_ID: "a/b" }, SELF)).toThrow()
        expect(() => parseConfig({ DEVICE_ID: "+" }, SELF)).toThrow()
        expect(() => parseConfig({ DEVICE_ID: ".." }, SELF)).toThrow()
        expect(parseConfig({ DEVICE_ID: "a.b" }, SELF).deviceId).toBe("a.b")
        expect(() => parseConfig({ REPORT_MS: "often" }, SELF)).toThrow()
        let message = ""
        try {
            parseConfig({ MQTT_PORT: 0 }, SELF)
        } catch (e) {
            message = (e as Error).message
        }
        expect(message.indexOf("MQTT_PORT") >= 0).toBe(true)
    })
})
