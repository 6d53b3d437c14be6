/**
 * Malformed MQTT 3.1.1 packets for a raw TCP socket, built by hand so they can be wrong, and what the
 * broker must do with each (test/whole-server/fuzz.test.ts, test/whole-server/fuzz-long.ts).
 */
import { connect as netConnect } from "node:net"
import { PACKET, mqttString, packet, packetReader, remainingLength, subscribePacket } from "../../server/mqtt/mqtt-wire"
import type { Rand } from "./hostile"

export { remainingLength }

const int = (r: Rand, n: number) => Math.floor(r() * n)

export interface RawConnectOptions {
    protocol?: string
    level?: number
    /** Default true. A library refuses an empty client id without it; a raw packet does not. */
    clean?: boolean
    username?: string
    password?: string
}

export function connectPacket(clientId: string, options: RawConnectOptions = {}): Buffer {
    const login = options.username === undefined ? 0 : 0x80 | (options.password === undefined ? 0 : 0x40)
    const flags = login | (options.clean === false ? 0 : 0x02)
    const body = Buffer.concat([
        mqttString(options.protocol ?? "MQTT"),
        Buffer.from([options.level ?? 4, flags, 0, 0]), // keepalive 0
        mqttString(clientId),
        options.username === undefined ? Buffer.alloc(0) : mqttString(options.username),
        options.password === undefined ? Buffer.alloc(0) : mqttString(options.password),
    ])
    return packet(0x10, body)
}

/** What the broker answered a raw CONNECT: its CONNACK's fields, then it closes the socket. */
export function rawConnack(
    port: number,
    connect: Buffer,
    waitMs = 5000
): Promise<{ returnCode: number; sessionPresent: boolean }> {
    return new Promise((resolve, reject) => {
        const socket = netConnect(port, "127.0.0.1")
        let received = Buffer.alloc(0)
        let done = false
        const timer = setTimeout(() => finish(new Error(`no CONNACK within ${waitMs} ms`)), waitMs)
        const finish = (error?: Error) => {
            if (done) return
            done = true
            clearTimeout(timer)
            socket.destroy()
            if (error) reject(error)
            else resolve({ sessionPresent: (received[2] & 1) === 1, returnCode: received[3] })
        }
        socket.on("error", error => finish(error))
        socket.on("close", () => finish(new Error("closed without a CONNACK")))
        socket.on("data", (chunk: Buffer) => {
            received = Buffer.concat([received, chunk])
            if (received.length >= 4) finish(received[0] === 0x20 ? undefined : new Error("not a CONNACK"))
        })
        socket.on("connect", () => socket.write(connect))
    })
}

export function publishPacket(topic: string | Buffer, payload: string | Buffer, qos: 0 | 1 = 0): Buffer {
    const id = qos > 0 ? Buffer.from([0, 1]) : Buffer.alloc(0)
    return packet(0x30 | (qos << 1), Buffer.concat([mqttString(topic), id, Buffer.from(payload)]))
}

export interface RawScenario {
    name: string
    bytes(r: Rand, clientId: string): Buffer[]
    /** A protocol violation the broker can see at once: it must close the connection. */
    mustClose: boolean
    /** Packets in it that count as fuzzed. */
    packets: number
}

/** The largest remaining length MQTT can express (256 MB), announced and never sent. */
const OVERSIZED = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])

export const RAW_SCENARIOS: readonly RawScenario[] = [
    {
        name: "HTTP request",
        mustClose: true,
        packets: 1,
        bytes: () => [Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
    },
    {
        name: "random bytes",
        mustClose: false, // may look like the start of a long packet: the broker then waits for the rest
        packets: 1,
        bytes: r => [Buffer.from(Array.from({ length: 1 + int(r, 256) }, () => int(r, 256)))],
    },
    {
        name: "remaining length of 5 bytes",
        mustClose: true,
        packets: 1,
        bytes: () => [Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01])],
    },
    {
        name: "CONNECT, protocol MQTX",
        mustClose: true,
        packets: 1,
        bytes: (_, id) => [connectPacket(id, { protocol: "MQTX" })],
    },
    {
        name: "CONNECT, protocol level 9",
        mustClose: true,
        packets: 1,
        bytes: (_, id) => [connectPacket(id, { level: 9 })],
    },
    {
        name: "PUBLISH before CONNECT",
        mustClose: true,
        packets: 1,
        bytes: () => [publishPacket("raw/telemetry", '{"light":1}')],
    },
    { name: "CONNECT twice", mustClose: true, packets: 2, bytes: (_, id) => [connectPacket(id), connectPacket(id)] },
    {
        name: "PUBLISH to +/telemetry",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), publishPacket("+/telemetry", '{"light":1}')],
    },
    {
        name: "PUBLISH to a/#",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), publishPacket("a/#", '{"light":1}')],
    },
    {
        name: "PUBLISH to x+y/telemetry",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), publishPacket("x+y/telemetry", "{}", 1)],
    },
    {
        name: "PUBLISH to $SYS/telemetry",
        // aedes alone closes the client; our broker's rules (server/auth) drop the message and keep it.
        // Either way it must never reach the server, which the fuzz test's counts check.
        mustClose: false,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), publishPacket("$SYS/telemetry", '{"light":1}')],
    },
    {
        name: "PUBLISH to an empty topic",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), publishPacket("", '{"light":1}')],
    },
    {
        name: "PUBLISH with 200 topic levels",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), publishPacket(`${"a/".repeat(199)}telemetry`, '{"light":1}')],
    },
    {
        name: "PUBLISH with QoS 3",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])],
    },
    {
        name: "PUBLISH whose topic runs past the packet",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), Buffer.from([0x30, 0x04, 0x00, 0x10, 0x61, 0x62])],
    },
    {
        name: "reserved packet type 0",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), Buffer.from([0x00, 0x00])],
    },
    {
        name: "reserved packet type 15",
        mustClose: true,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), Buffer.from([0xf0, 0x00])],
    },
    {
        name: "256 MB length announced before CONNECT",
        mustClose: false, // aedes 1.2 has no packet size limit: it waits for the rest (see the report)
        packets: 1,
        bytes: () => [OVERSIZED, Buffer.alloc(4096, 0x41)],
    },
    {
        name: "256 MB length announced after CONNECT",
        mustClose: false,
        packets: 2,
        bytes: (_, id) => [connectPacket(id), OVERSIZED, Buffer.alloc(4096, 0x41)],
    },
    {
        name: "half a CONNECT, then silence",
        mustClose: false,
        packets: 1,
        bytes: (_, id) => [connectPacket(id).subarray(0, 7)],
    },
]

export type RawOutcome = "closed by the broker" | "left open"

/**
 * Sends one scenario on a fresh TCP connection and waits up to `waitMs` for the broker to close it;
 * then closes it itself. Never rejects: a refused or reset connection is the broker dropping us.
 */
export function sendRaw(port: number, bytes: Buffer[], waitMs: number): Promise<RawOutcome> {
    return new Promise(resolve => {
        const socket = netConnect(port, "127.0.0.1")
        let done = false
        const finish = (outcome: RawOutcome) => {
            if (done) return
            done = true
            clearTimeout(timer)
            socket.destroy()
            resolve(outcome)
        }
        const timer = setTimeout(() => finish("left open"), waitMs)
        socket.on("error", () => finish("closed by the broker"))
        socket.on("close", () => finish("closed by the broker"))
        // read (and drop) what the broker answers: unread data would hold back the end of the stream
        socket.resume()
        socket.on("connect", () => {
            for (const b of bytes) socket.write(b)
        })
    })
}

/**
 * A client that leaves a session behind, as cheaply as a hostile one can: CONNECT, SUBSCRIBE (when
 * accepted), wait for the SUBACK, close. Resolves with the CONNACK's return code.
 */
export function leaveSession(
    port: number,
    connect: Buffer,
    filters: [topic: string, qos: number][],
    waitMs = 5000
): Promise<number> {
    return new Promise((resolve, reject) => {
        const socket = netConnect(port, "127.0.0.1")
        let returnCode = -1
        let done = false
        const finish = (error?: Error) => {
            if (done) return
            done = true
            clearTimeout(timer)
            socket.destroy()
            if (error) reject(error)
            else resolve(returnCode)
        }
        const timer = setTimeout(() => finish(new Error(`no CONNACK and SUBACK within ${waitMs} ms`)), waitMs)
        const read = packetReader((first, body) => {
            if (first >> 4 === PACKET.CONNACK) {
                returnCode = body[1]
                if (returnCode !== 0) finish()
                else socket.write(subscribePacket(1, filters))
            } else if (first >> 4 === PACKET.SUBACK) finish()
        })
        socket.on("data", read)
        socket.on("error", error => finish(error))
        socket.on("close", () => finish(returnCode >= 0 ? undefined : new Error("closed without a CONNACK")))
        socket.on("connect", () => socket.write(connect))
    })
}
