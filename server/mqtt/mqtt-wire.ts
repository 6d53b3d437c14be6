/**
 * Just enough MQTT 3.1.1 framing (§2, §3) for the bench's devices and the tests' raw packets, which send
 * what a library refuses to. Not used by the server. No MQTT 5, no QoS 2.
 */

export const PACKET = {
    CONNECT: 1,
    CONNACK: 2,
    PUBLISH: 3,
    PUBACK: 4,
    SUBSCRIBE: 8,
    SUBACK: 9,
    PINGREQ: 12,
    PINGRESP: 13,
    DISCONNECT: 14,
} as const

/** A PUBLISH as read off the wire (section 3.3). */
export interface Publish {
    topic: string
    qos: number
    /** 0 for QoS 0 */
    packetId: number
    retain: boolean
    payload: Buffer
}

/** The remaining length's bytes (section 2.2.3): 7 bits each, the high bit set on all but the last. */
export function remainingLength(length: number): Buffer {
    const bytes: number[] = []
    do {
        let byte = length % 128
        length = Math.floor(length / 128)
        if (length > 0) byte |= 0x80
        bytes.push(byte)
    } while (length > 0)
    return Buffer.from(bytes)
}

export function packet(first: number, body: Buffer): Buffer {
    return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body])
}

/** A UTF-8 string (or raw bytes, which tests make invalid on purpose) with its 2-byte length (section 1.5.3). */
export function mqttString(text: string | Buffer): Buffer {
    const bytes = typeof text === "string" ? Buffer.from(text) : text
    return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
}

/** CONNECT with a clean session and no login (section 3.1); keepalive 0 turns the broker's timer off. */
export function connectPacket(clientId: string, keepaliveS = 0): Buffer {
    const header = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, keepaliveS >> 8, keepaliveS & 0xff])
    return packet(PACKET.CONNECT << 4, Buffer.concat([header, mqttString(clientId)]))
}

/** SUBSCRIBE to each filter at its QoS (section 3.8; the fixed header's flags are 0010). */
export function subscribePacket(packetId: number, filters: [topic: string, qos: number][]): Buffer {
    const id = Buffer.from([packetId >> 8, packetId & 0xff])
    const parts = filters.flatMap(([topic, qos]) => [mqttString(topic), Buffer.from([qos])])
    return packet((PACKET.SUBSCRIBE << 4) | 0x02, Buffer.concat([id, ...parts]))
}

/** SUBACK granting each QoS asked for (section 3.9). */
export function subackPacket(packetId: number, granted: number[]): Buffer {
    return packet(PACKET.SUBACK << 4, Buffer.from([packetId >> 8, packetId & 0xff, ...granted]))
}

export function pubackPacket(packetId: number): Buffer {
    return Buffer.from([PACKET.PUBACK << 4, 2, packetId >> 8, packetId & 0xff])
}

export const CONNACK_ACCEPTED = Buffer.from([PACKET.CONNACK << 4, 2, 0, 0])
export const PINGRESP_PACKET = Buffer.from([PACKET.PINGRESP << 4, 0])

/** PUBLISH (section 3.3); `packetId` only for QoS 1. */
export function publishPacket(topic: string, payload: string | Buffer, qos: 0 | 1 = 0, packetId = 0): Buffer {
    const topicBytes = mqttString(topic)
    const id = qos > 0 ? Buffer.from([packetId >> 8, packetId & 0xff]) : Buffer.alloc(0)
    const body = Buffer.concat([topicBytes, id, typeof payload === "string" ? Buffer.from(payload) : payload])
    return packet((PACKET.PUBLISH << 4) | (qos << 1), body)
}

export function parsePublish(first: number, body: Buffer): Publish {
    const qos = (first >> 1) & 3
    const topicLength = body.readUInt16BE(0)
    const topic = body.toString("utf8", 2, 2 + topicLength)
    let at = 2 + topicLength
    const packetId = qos > 0 ? body.readUInt16BE(at) : 0
    if (qos > 0) at += 2
    return { topic, qos, packetId, retain: (first & 1) === 1, payload: body.subarray(at) }
}

export function packetIdOf(body: Buffer): number {
    return body.readUInt16BE(0)
}

/** Returns the function to feed chunks to; a partial packet is kept for the next chunk. */
export function packetReader(onPacket: (first: number, body: Buffer) => void): (chunk: Buffer) => void {
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
            onPacket(data[at], data.subarray(cursor, cursor + length))
            at = cursor + length
        }
        if (at < data.length) pending = Buffer.from(data.subarray(at))
    }
}
