import { describe, expect, test } from "@devicescript/test"
import {
    decodeConnAck,
    decodePublish,
    encodeConnect,
    encodeLength,
    encodePingReq,
    encodePubAck,
    encodePublish,
    encodeSubscribe,
    PacketReader,
    topicMatches,
} from "./mqtt-packets"

function hexOf(bytes: number[]) {
    return Buffer.from(bytes).toString("hex")
}

describe("encodeLength", () => {
    test("uses 1 to 4 bytes as in the spec's table (§2.2.3)", () => {
        expect(hexOf(encodeLength(0))).toBe("00")
        expect(hexOf(encodeLength(127))).toBe("7f")
        expect(hexOf(encodeLength(128))).toBe("8001")
        expect(hexOf(encodeLength(16383))).toBe("ff7f")
        expect(hexOf(encodeLength(16384))).toBe("808001")
        expect(hexOf(encodeLength(2097152))).toBe("80808001")
    })
})

describe("encoders", () => {
    test("CONNECT matches the bytes a standard client sends", () => {
        const b = encodeConnect({ clientId: "exp1nightlight_client", keepAliveS: 60 })
        expect(b.toString("hex")).toBe("102100044d5154540402003c0015657870316e696768746c696768745f636c69656e74")
    })
    test("CONNECT carries will, user and password flags", () => {
        const b = encodeConnect({
            clientId: "c",
            keepAliveS: 30,
            username: "u",
            password: "p",
            will: { topic: "c/status", payload: "offline", qos: 1, retain: true },
        })
        // flags: user 0x80 | password 0x40 | will retain 0x20 | will qos1 0x08 | will 0x04 | clean 0x02
        expect(b[9]).toBe(0xee)
    })
    test("PUBLISH QoS 0 is one buffer: header, topic, payload", () => {
        const b = encodePublish("exp1/telemetry", '{"light":100}', 0, false, 0)
        expect(b.toString("hex")).toBe("301d000e657870312f74656c656d657472797b226c69676874223a3130307d")
    })
    test("PUBLISH QoS 1 retained carries its packet id", () => {
        const b = encodePublish("a", "x", 1, true, 258)
        expect(b.toString("hex")).toBe("3306000161010278")
    })
    test("SUBSCRIBE, PUBACK, PINGREQ", () => {
        expect(encodeSubscribe(1, "exp1/commands", 0).toString("hex")).toBe("82120001000d657870312f636f6d6d616e647300")
        expect(encodePubAck(7).toString("hex")).toBe("40020007")
        expect(encodePingReq().toString("hex")).toBe("c000")
    })
})

describe("decoders", () => {
    test("CONNACK return code", () => {
        expect(decodeConnAck(Buffer.from([0, 0]))).toBe(0)
        expect(decodeConnAck(Buffer.from([0, 5]))).toBe(5)
    })
    test("PUBLISH QoS 0 and QoS 1", () => {
        const p0 = decodePublish(0, Buffer.from("0003612f627b7d", "hex"))
        expect(p0.topic).toBe("a/b")
        expect(p0.payload.toString()).toBe("{}")
        expect(p0.qos).toBe(0)
        const p1 = decodePublish(0x3, Buffer.from("000161002a7a", "hex"))
        expect(p1.qos).toBe(1)
        expect(p1.retain).toBe(true)
        expect(p1.packetId).toBe(42)
        expect(p1.payload.toString()).toBe("z")
    })
})

describe("PacketReader", () => {
    test("splits packets that arrived in one chunk", () => {
        const r = new PacketReader()
        r.push(
            Buffer.concat(
                encodePublish("a", "1", 0, false, 0),
                encodePublish("b", "2", 0, false, 0),
                Buffer.from([0xd0, 0])
            )
        )
        expect(decodePublish(0, r.next().body).topic).toBe("a")
        expect(decodePublish(0, r.next().body).topic).toBe("b")
        expect(r.next().type).toBe(13)
        expect(r.next()).toBe(undefined)
    })
    test("waits for a packet split across chunks", () => {
        const whole = encodePublish("topic", "payload", 0, false, 0)
        const r = new PacketReader()
        r.push(whole.slice(0, 1))
        expect(r.next()).toBe(undefined)
        r.push(whole.slice(1, 6))
        expect(r.next()).toBe(undefined)
        r.push(whole.slice(6))
        expect(decodePublish(0, r.next().body).payload.toString()).toBe("payload")
    })
    test("reads a multi-byte remaining length", () => {
        let big = ""
        for (let i = 0; i < 200; i++) big += "x"
        const r = new PacketReader()
        r.push(encodePublish("t", big, 0, false, 0))
        expect(decodePublish(0, r.next().body).payload.length).toBe(200)
    })
    test("refuses a length longer than four bytes", () => {
        const r = new PacketReader()
        r.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))
        expect(() => r.next()).toThrow()
    })
})

describe("topicMatches", () => {
    test("exact, + and #", () => {
        expect(topicMatches("a/commands", "a/commands")).toBe(true)
        expect(topicMatches("a/commands", "a/commands2")).toBe(false)
        expect(topicMatches("a/commands", "a/commands/x")).toBe(false)
        expect(topicMatches("+/commands", "b/commands")).toBe(true)
        expect(topicMatches("a/#", "a/commands/x")).toBe(true)
        expect(topicMatches("#", "anything/at/all")).toBe(true)
        expect(topicMatches("a/+", "a")).toBe(false)
    })
})
