/**
 * MQTT 3.1.1 packets, encoded and decoded without I/O, for the firmware's own MQTT client
 * (`mqtt-client.ts`). Spec: https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html
 * Each packet is built as ONE buffer, so it goes out in one socket write: two writes per publish, as
 * @devicescript/net does, meet Nagle's algorithm and delay every message.
 */

export const enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    Subscribe = 8,
    SubAck = 9,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
}

export interface Will {
    topic: string
    payload: string
    qos: number
    retain: boolean
}

export interface ConnectOptions {
    clientId: string
    /** Seconds; the broker drops us after 1.5× this without a packet (§3.1.2.10). */
    keepAliveS: number
    username?: string
    password?: string
    will?: Will
}

export interface Packet {
    type: number
    flags: number
    body: Buffer
}

export interface PublishPacket {
    topic: string
    payload: Buffer
    qos: number
    retain: boolean
    dup: boolean
    packetId: number
}

/** Remaining length: 7 bits a byte, high bit = more follows, at most 4 bytes (§2.2.3). */
export function encodeLength(length: number): number[] {
    const bytes: number[] = []
    for (;;) {
        let b = length % 128
        length = Math.idiv(length, 128)
        if (length > 0) b = b | 0x80
        bytes.push(b)
        if (length === 0) return bytes
    }
}

function u16(n: number): number[] {
    return [(n >> 8) & 0xff, n & 0xff]
}

/** A UTF-8 string with its 2-byte length prefix (§1.5.3). */
function str(s: string): Buffer {
    const b = Buffer.from(s)
    return Buffer.concat(Buffer.from(u16(b.length)), b)
}

function packet(type: number, flags: number, body: Buffer): Buffer {
    return Buffer.concat(Buffer.from([(type << 4) | flags]), Buffer.from(encodeLength(body.length)), body)
}

export function encodeConnect(o: ConnectOptions): Buffer {
    // clean session always: the device keeps no broker-side state across reconnects (§3.1.2.4)
    let flags = 0x02
    const parts: Buffer[] = [str("MQTT"), Buffer.from([4]), Buffer.from([0]), Buffer.from(u16(o.keepAliveS))]
    parts.push(str(o.clientId))
    if (o.will) {
        flags = flags | 0x04 | ((o.will.qos & 3) << 3) | (o.will.retain ? 0x20 : 0)
        parts.push(str(o.will.topic))
        parts.push(str(o.will.payload))
    }
    if (o.username) {
        flags = flags | 0x80
        parts.push(str(o.username))
        if (o.password) {
            flags = flags | 0x40
            parts.push(str(o.password))
        }
    }
    parts[2] = Buffer.from([flags])
    return packet(PacketType.Connect, 0, Buffer.concat(...parts))
}

export function encodePublish(topic: string, payload: string, qos: number, retain: boolean, packetId: number): Buffer {
    const parts: Buffer[] = [str(topic)]
    if (qos > 0) parts.push(Buffer.from(u16(packetId)))
    parts.push(Buffer.from(payload))
    return packet(PacketType.Publish, (qos << 1) | (retain ? 1 : 0), Buffer.concat(...parts))
}

export function encodeSubscribe(packetId: number, topic: string, qos: number): Buffer {
    // SUBSCRIBE's fixed-header flags are reserved as 0b0010 (§3.8.1)
    return packet(PacketType.Subscribe, 2, Buffer.concat(Buffer.from(u16(packetId)), str(topic), Buffer.from([qos])))
}

export function encodePubAck(packetId: number): Buffer {
    return packet(PacketType.PubAck, 0, Buffer.from(u16(packetId)))
}

export function encodePingReq(): Buffer {
    return Buffer.from([PacketType.PingReq << 4, 0])
}

export function encodeDisconnect(): Buffer {
    return Buffer.from([PacketType.Disconnect << 4, 0])
}

/** CONNACK return code: 0 accepted, 1-5 refused (§3.2.2.3). */
export function decodeConnAck(body: Buffer): number {
    return body.length >= 2 ? body[1] : -1
}

export function connAckMessage(code: number): string {
    if (code === 1) return "unacceptable protocol version"
    if (code === 2) return "client id rejected"
    if (code === 3) return "server unavailable"
    if (code === 4) return "bad user name or password"
    if (code === 5) return "not authorized"
    return `refused (code ${code})`
}

export function decodePublish(flags: number, body: Buffer): PublishPacket {
    const qos = (flags >> 1) & 3
    const topicLength = (body[0] << 8) | body[1]
    const topic = body.slice(2, 2 + topicLength).toString()
    let offset = 2 + topicLength
    let packetId = 0
    if (qos > 0) {
        packetId = (body[offset] << 8) | body[offset + 1]
        offset += 2
    }
    return {
        topic: topic,
        payload: body.slice(offset),
        qos: qos,
        retain: (flags & 1) === 1,
        dup: (flags & 8) === 8,
        packetId: packetId,
    }
}

/** Cuts a byte stream into packets, however TCP split or merged them. */
export class PacketReader {
    private pending: Buffer = Buffer.alloc(0)

    push(data: Buffer) {
        this.pending = this.pending.length ? Buffer.concat(this.pending, data) : data
    }

    /** The next complete packet, or undefined until more bytes arrive. Throws on a malformed length. */
    next(): Packet {
        const buf = this.pending
        if (buf.length < 2) return undefined
        let length = 0
        let multiplier = 1
        let i = 1
        for (;;) {
            if (i >= buf.length) return undefined
            const b = buf[i]
            length += (b & 0x7f) * multiplier
            i++
            if ((b & 0x80) === 0) break
            multiplier *= 128
            if (i > 4) throw new Error("malformed packet length")
        }
        if (buf.length < i + length) return undefined
        const p: Packet = { type: buf[0] >> 4, flags: buf[0] & 0x0f, body: buf.slice(i, i + length) }
        this.pending = buf.slice(i + length)
        return p
    }
}

/** MQTT topic filter matching with `+` (one level) and a trailing `#` (the rest) (§4.7). */
export function topicMatches(filter: string, topic: string): boolean {
    const f = filter.split("/")
    const t = topic.split("/")
    for (let i = 0; i < f.length; i++) {
        if (f[i] === "#") return true
        if (i >= t.length) return false
        if (f[i] !== "+" && f[i] !== t[i]) return false
    }
    return f.length === t.length
}
