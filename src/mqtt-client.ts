/**
 * The firmware's MQTT 3.1.1 client, on @devicescript/net's socket, because the library's MQTTClient
 * leaves packets that arrive together waiting (docs/devicescript.md §6). One loop reads every chunk and
 * cuts it into packets (PacketReader); it reconnects with capped backoff and sends each packet in one write.
 */
import * as ds from "@devicescript/core"
import { connect, type Socket, type SocketProto } from "@devicescript/net"
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff"
import { connectFailure } from "./connect-failure"
import { random01 } from "./random"
import {
    connAckMessage,
    decodeConnAck,
    decodePublish,
    encodeConnect,
    encodeDisconnect,
    encodePingReq,
    encodePubAck,
    encodePublish,
    encodeSubscribe,
    PacketReader,
    PacketType,
    type PublishPacket,
    topicMatches,
    type Will,
} from "./mqtt-packets"

export interface MqttOptions {
    host: string
    port: number
    proto: SocketProto
    clientId: string
    username?: string
    password?: string
    will?: Will
    /** Seconds (§3.1.2.10). We ping every half of it and give up on a broker silent for 1.5× it. */
    keepAliveS?: number
    /** How long to wait for the TCP/TLS connection and for CONNACK (ms). */
    connectTimeoutMs?: number
    backoff?: BackoffPolicy
    /** Where connection events go (connected, lost, retrying); console.log by default. */
    log?: (message: string) => void
}

/** `retained`: the broker kept this message and delivers it because we just subscribed (§3.3.1.3). */
export type MessageHandler = (topic: string, payload: Buffer, retained: boolean) => Promise<void>

interface Subscription {
    filter: string
    qos: number
    handler: MessageHandler
}

const DEFAULT_KEEP_ALIVE_S = 30
/**
 * A connection must last this long (ms) before the retry delay starts small again. Without it, two
 * clients with the same client id kick each other off in a tight loop: each connect succeeds, so a
 * naive client would retry at once, forever (the "reconnect storm").
 */
const STABLE_MS = 10000
/** No broker listening: retry often, at most every 5 s, so the device is back soon after the broker. */
const UNREACHABLE_BACKOFF: BackoffPolicy = { minMs: 500, maxMs: 5000 }
const UNREACHABLE = -1
const REFUSED = -2
const DEFAULT_CONNECT_TIMEOUT_MS = 10000

export class MqttConnection {
    private socket: Socket = undefined
    private connected = false
    private stopped = false
    private subscriptions: Subscription[] = []
    private lastPacketId = 0
    private pinger = 0
    private readonly log: (message: string) => void
    /** Fires after each successful connection (CONNACK accepted, subscriptions sent). */
    readonly onconnect = ds.emitter<number>()

    constructor(private readonly options: MqttOptions) {
        this.log = options.log || ((m: string) => console.log(`mqtt: ${m}`))
    }

    isConnected() {
        return this.connected
    }

    /** Starts connecting in the background and keeps the connection up until stop(). */
    start() {
        const self = this
        setTimeout(async () => await self.run(), 0)
    }

    async stop() {
        this.stopped = true
        const socket = this.socket
        if (socket && this.connected) await this.sendOn(socket, encodeDisconnect())
        if (socket) await socket.close()
    }

    /** Subscribes now if connected, and again after every reconnect (the session is clean). */
    async subscribe(filter: string, handler: MessageHandler, qos = 0) {
        const sub: Subscription = { filter: filter, qos: qos, handler: handler }
        this.subscriptions.push(sub)
        if (this.connected) await this.sendOn(this.socket, encodeSubscribe(this.nextPacketId(), filter, qos))
    }

    /** QoS 0 publish. False when not connected or the write failed: the caller decides what to retry. */
    async publish(topic: string, payload: string, retain = false): Promise<boolean> {
        if (!this.connected) return false
        return await this.sendOn(this.socket, encodePublish(topic, payload, 0, retain, 0))
    }

    private async run() {
        let attempt = 0
        while (!this.stopped) {
            const connectedMs = await this.session()
            if (this.stopped) break
            if (connectedMs >= STABLE_MS) attempt = 0
            else if (connectedMs >= 0)
                this.log(`the connection lasted only ${connectedMs} ms (another client with our client id?)`)
            // an absent broker costs nothing to retry, and the device should be back within seconds of
            // its return; a broker that refuses or drops us gets the long backoff
            const policy = connectedMs === UNREACHABLE ? UNREACHABLE_BACKOFF : this.options.backoff || DEFAULT_BACKOFF
            const delay = backoffDelay(attempt, policy, random01())
            attempt++
            this.log(`reconnecting in ${delay} ms`)
            await ds.sleep(delay)
        }
    }

    /**
     * One connection, from TCP connect to its end: how long the broker had accepted us (ms), REFUSED
     * when it answered but did not accept us, UNREACHABLE when there was no broker to answer.
     */
    private async session(): Promise<number> {
        const o = this.options
        const keepAliveS = o.keepAliveS || DEFAULT_KEEP_ALIVE_S
        const connectTimeoutMs = o.connectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS
        const hostPort = `${o.host}:${o.port}`
        const url = `${o.proto}://${hostPort}`
        let socket: Socket
        try {
            socket = await connect({ host: o.host, port: o.port, proto: o.proto, timeout: connectTimeoutMs })
        } catch (e) {
            this.log(`cannot reach ${url}: ${connectFailure(url, hostPort, (e as Error).message)}`)
            return UNREACHABLE
        }
        this.socket = socket
        const reader = new PacketReader()
        let accepted = false
        let acceptedAt = 0
        try {
            await socket.send(
                encodeConnect({
                    clientId: o.clientId,
                    keepAliveS: keepAliveS,
                    username: o.username,
                    password: o.password,
                    will: o.will,
                })
            )
            for (;;) {
                // any packet from the broker proves the link; PINGRESP arrives every keepAlive/2
                const data = await socket.recv(accepted ? keepAliveS * 1500 : connectTimeoutMs)
                if (data === null) {
                    this.log("the broker closed the connection")
                    break
                }
                if (data === undefined) {
                    this.log(accepted ? "the broker went silent" : "no answer to CONNECT")
                    break
                }
                reader.push(data)
                let refused = false
                for (let p = reader.next(); p && !refused; p = reader.next()) {
                    if (p.type === PacketType.ConnAck) {
                        refused = !(await this.onConnAck(socket, p.body, keepAliveS))
                        accepted = !refused
                        acceptedAt = ds.millis()
                    } else if (p.type === PacketType.Publish) {
                        await this.dispatch(socket, decodePublish(p.flags, p.body))
                    }
                    // PINGRESP, SUBACK, PUBACK: nothing to do; their arrival already kept recv() alive
                }
                if (refused) break
            }
        } catch (e) {
            this.log(`connection error on ${url}: ${connectFailure(url, hostPort, (e as Error).message)}`)
        }
        this.connected = false
        if (this.pinger !== 0) clearInterval(this.pinger)
        this.pinger = 0
        this.socket = undefined
        await socket.close()
        return accepted ? ds.millis() - acceptedAt : REFUSED
    }

    /** CONNACK: on success, subscribe again and start pinging. False when the broker refused us. */
    private async onConnAck(socket: Socket, body: Buffer, keepAliveS: number): Promise<boolean> {
        const code = decodeConnAck(body)
        if (code !== 0) {
            this.log(`the broker refused the connection: ${connAckMessage(code)}`)
            return false
        }
        this.connected = true
        for (const sub of this.subscriptions)
            await socket.send(encodeSubscribe(this.nextPacketId(), sub.filter, sub.qos))
        const self = this
        this.pinger = setInterval(async () => {
            await self.sendOn(socket, encodePingReq())
        }, keepAliveS * 500)
        this.log("connected")
        this.onconnect.emit(0)
        return true
    }

    private async dispatch(socket: Socket, msg: PublishPacket) {
        for (const sub of this.subscriptions) {
            if (!topicMatches(sub.filter, msg.topic)) continue
            try {
                await sub.handler(msg.topic, msg.payload, msg.retain)
            } catch (e) {
                this.log(`handler for ${msg.topic} failed: ${(e as Error).message}`)
            }
        }
        if (msg.qos > 0) await this.sendOn(socket, encodePubAck(msg.packetId))
    }

    private async sendOn(socket: Socket, packet: Buffer): Promise<boolean> {
        if (!socket) return false
        try {
            await socket.send(packet)
            return true
        } catch (e) {
            return false
        }
    }

    private nextPacketId() {
        this.lastPacketId = (this.lastPacketId % 65535) + 1
        return this.lastPacketId
    }
}
