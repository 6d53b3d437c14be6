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
import {
    CONNACK_ACCEPTED,
    PACKET,
    PINGRESP_PACKET,
    packetReader,
    parsePublish,
    pubackPacket,
    publishPacket,
    subackPacket,
} from "../server/mqtt/mqtt-wire"
import { DEFAULT_BAND, DEFAULT_THRESHOLD, decideLedWithBand } from "../server/protocol/contract"

const [host, portText] = process.argv.slice(2)
const port = Number(portText)
if (!host || !Number.isInteger(port) || port <= 0) {
    console.error(`usage: node --import tsx bench/node_floor.ts <host> <port>; got ${process.argv.slice(2).join(" ")}`)
    process.exit(2)
}

/** Per device: the decision and the last command's number. */
const decisions = new Map<string, { ledOn: boolean; seq: number }>()

/** One MQTT packet: the fixed header's first byte, and its body. */
function onPacket(socket: Socket, first: number, body: Buffer): void {
    switch (first >> 4) {
        case PACKET.CONNECT:
            socket.write(CONNACK_ACCEPTED)
            return
        case PACKET.PUBLISH:
            return onPublish(socket, first, body)
        case PACKET.SUBSCRIBE: {
            // packet id, then (topic, QoS) pairs; grant what is asked
            const granted: number[] = []
            for (let at = 2; at + 2 <= body.length;) {
                const length = body.readUInt16BE(at)
                granted.push(body[at + 2 + length] & 3)
                at += 3 + length
            }
            socket.write(subackPacket(body.readUInt16BE(0), granted))
            return
        }
        case PACKET.PINGREQ:
            socket.write(PINGRESP_PACKET)
            return
        case PACKET.DISCONNECT:
            socket.end()
            return
        // PUBACK of our commands and anything else: nothing to do
    }
}

function onPublish(socket: Socket, first: number, body: Buffer): void {
    const { topic, qos, packetId, payload } = parsePublish(first, body)
    if (qos > 0) socket.write(pubackPacket(packetId))
    if (!topic.endsWith("/telemetry")) return
    const id = topic.slice(0, -"/telemetry".length)
    let reading: { light?: unknown; seq?: unknown; boot?: unknown }
    try {
        reading = JSON.parse(payload.toString())
    } catch {
        return
    }
    if (typeof reading.light !== "number") return
    const state = decisions.get(id)
    const previous = state?.ledOn
    const ledOn = decideLedWithBand(reading.light, previous, DEFAULT_THRESHOLD, DEFAULT_BAND)
    if (typeof reading.seq === "number")
        socket.write(publishPacket(`${id}/acks`, `{"boot":${JSON.stringify(reading.boot)},"seq":${reading.seq}}`))
    if (state && ledOn === previous) return
    const seq = Math.max(Date.now(), (state?.seq ?? 0) + 1)
    decisions.set(id, { ledOn, seq })
    socket.write(publishPacket(`${id}/commands`, `{"led_on":${ledOn},"seq":${seq},"t":${seq}}`, 1, seq % 0xffff || 1))
}

const server = createServer(socket => {
    socket.setNoDelay(true)
    socket.on(
        "data",
        packetReader((first, body) => onPacket(socket, first, body))
    )
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
