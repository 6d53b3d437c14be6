/**
 * The "floor" baseline: a bare Node TCP endpoint that speaks just enough MQTT 3.1.1 for the bench's
 * devices and answers our protocol as our server does (an ack per reading on `<id>/acks`, a QoS 1
 * command on `<id>/commands` when the decision changes, threshold 300 with a band of 100), with no
 * broker, no database, no checks and no one else to deliver to. What any Node server must spend per
 * reading on this machine: the socket read and write, a parse, JSON.parse, a decision, an ack. Our
 * server's CPU per reading over this one is what aedes, the history and our checks cost. Not a server
 * for anything but the bench: packets it does not need (QoS 2, MQTT 5) are ignored. A child of the
 * bench (relay.ts).
 *
 *   usage: node --import tsx bench/node_floor.ts <host> <port>
 */
import { createServer, type Socket } from "node:net"

const [host, portText] = process.argv.slice(2)
const port = Number(portText)
if (!host || !Number.isInteger(port) || port <= 0) {
    console.error(`usage: node --import tsx bench/node_floor.ts <host> <port>; got ${process.argv.slice(2).join(" ")}`)
    process.exit(2)
}

const THRESHOLD = 300
const BAND = 100
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00])
const PINGRESP = Buffer.from([0xd0, 0x00])

/** Per device: the decision and the last command's number. */
const decisions = new Map<string, { ledOn: boolean; seq: number }>()

/** One MQTT packet: the fixed header's first byte, and its body. */
function onPacket(socket: Socket, first: number, body: Buffer): void {
    switch (first >> 4) {
        case 1: // CONNECT
            socket.write(CONNACK)
            return
        case 3: // PUBLISH
            return onPublish(socket, first, body)
        case 8: {
            // SUBSCRIBE: packet id, then (topic, QoS) pairs; grant what is asked
            const granted: number[] = []
            for (let at = 2; at + 2 <= body.length;) {
                const length = body.readUInt16BE(at)
                granted.push(body[at + 2 + length] & 3)
                at += 3 + length
            }
            socket.write(Buffer.from([0x90, 2 + granted.length, body[0], body[1], ...granted]))
            return
        }
        case 12: // PINGREQ
            socket.write(PINGRESP)
            return
        case 14: // DISCONNECT
            socket.end()
            return
        // PUBACK (4) of our commands and anything else: nothing to do
    }
}

function onPublish(socket: Socket, first: number, body: Buffer): void {
    const qos = (first >> 1) & 3
    const topicLength = body.readUInt16BE(0)
    const topic = body.toString("utf8", 2, 2 + topicLength)
    let at = 2 + topicLength
    if (qos > 0) {
        socket.write(Buffer.from([0x40, 0x02, body[at], body[at + 1]])) // PUBACK
        at += 2
    }
    if (!topic.endsWith("/telemetry")) return
    const id = topic.slice(0, -"/telemetry".length)
    let reading: { light?: unknown; seq?: unknown; boot?: unknown }
    try {
        reading = JSON.parse(body.toString("utf8", at))
    } catch {
        return
    }
    if (typeof reading.light !== "number") return
    const state = decisions.get(id)
    const previous = state?.ledOn
    const ledOn = reading.light < THRESHOLD ? true : reading.light >= THRESHOLD + BAND ? false : previous === true
    if (typeof reading.seq === "number")
        socket.write(publish(`${id}/acks`, `{"boot":${JSON.stringify(reading.boot)},"seq":${reading.seq}}`, 0))
    if (state && ledOn === previous) return
    const seq = Math.max(Date.now(), (state?.seq ?? 0) + 1)
    decisions.set(id, { ledOn, seq })
    socket.write(publish(`${id}/commands`, `{"led_on":${ledOn},"seq":${seq},"t":${seq}}`, 1, seq & 0xffff || 1))
}

/** A PUBLISH packet (remaining length up to 2 bytes: our payloads are small). */
function publish(topic: string, payload: string, qos: 0 | 1, packetId = 0): Buffer {
    const topicLength = Buffer.byteLength(topic)
    const payloadLength = Buffer.byteLength(payload)
    const remaining = 2 + topicLength + (qos ? 2 : 0) + payloadLength
    const header = remaining < 128 ? 2 : 3
    const packet = Buffer.allocUnsafe(header + remaining)
    packet[0] = 0x30 | (qos << 1)
    if (remaining < 128) packet[1] = remaining
    else {
        packet[1] = (remaining & 0x7f) | 0x80
        packet[2] = remaining >> 7
    }
    let at = header
    at = packet.writeUInt16BE(topicLength, at)
    at += packet.write(topic, at)
    if (qos) at = packet.writeUInt16BE(packetId, at)
    packet.write(payload, at)
    return packet
}

/** Splits the stream into packets; keeps a partial one for the next chunk. */
function reader(socket: Socket): (chunk: Buffer) => void {
    let pending: Buffer | undefined
    return chunk => {
        const data = pending ? Buffer.concat([pending, chunk]) : chunk
        pending = undefined
        let at = 0
        while (at + 2 <= data.length) {
            let length = 0
            let multiplier = 1
            let cursor = at + 1
            let complete = false
            for (let i = 0; i < 4 && cursor < data.length; i++) {
                const byte = data[cursor++]
                length += (byte & 0x7f) * multiplier
                multiplier *= 128
                if ((byte & 0x80) === 0) {
                    complete = true
                    break
                }
            }
            if (!complete || cursor + length > data.length) break
            onPacket(socket, data[at], data.subarray(cursor, cursor + length))
            at = cursor + length
        }
        if (at < data.length) pending = Buffer.from(data.subarray(at))
    }
}

const server = createServer(socket => {
    socket.setNoDelay(true)
    socket.on("data", reader(socket))
    socket.on("error", () => undefined) // a device that drops mid-packet: routine
})
server.on("error", error => {
    console.error(`node floor: cannot listen on ${host}:${port}: ${error.message}`)
    process.exit(1)
})
server.listen(port, host)

const stop = () => {
    server.close()
    setTimeout(() => process.exit(0), 200).unref()
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
