/**
 * One simulated device's MQTT connection for the load generator (load.ts): a TCP socket speaking the
 * few packets a device needs (mqtt-wire.ts): CONNECT with a clean session and no keepalive, SUBSCRIBE,
 * PUBLISH at QoS 0, and PUBACK for the QoS 1 commands it receives. About half of mqtt.js' CPU per
 * reading, so the generator can offer more than the systems under test take on this 2-core machine.
 * The systems see an ordinary MQTT 3.1.1 client.
 */
import { EventEmitter } from "node:events"
import { connect as netConnect, type Socket } from "node:net"
import {
    PACKET,
    connectPacket,
    packetIdOf,
    packetReader,
    parsePublish,
    pubackPacket,
    publishPacket,
    subscribePacket,
} from "../server/mqtt/mqtt-wire"

export interface RawClientEvents {
    message: [topic: string, payload: Buffer]
    close: []
}

export class RawClient extends EventEmitter<RawClientEvents> {
    private nextPacketId = 1
    private readonly waiting = new Map<number, () => void>()
    private connected?: () => void
    private closed = false

    private constructor(private readonly socket: Socket) {
        super()
    }

    /** Connects and waits for the CONNACK; rejects on an error, a refusal or after `timeoutMs`. */
    static connect(host: string, port: number, clientId: string, timeoutMs: number): Promise<RawClient> {
        const socket = netConnect(port, host)
        socket.setNoDelay(true)
        const client = new RawClient(socket)
        return new Promise((resolve, reject) => {
            const fail = (error: Error) => {
                clearTimeout(timer)
                socket.destroy()
                reject(error)
            }
            const timer = setTimeout(() => fail(new Error(`${clientId}: no CONNACK in ${timeoutMs} ms`)), timeoutMs)
            socket.once("error", fail)
            socket.once("connect", () => socket.write(connectPacket(clientId)))
            client.connected = () => {
                clearTimeout(timer)
                socket.off("error", fail)
                socket.on("error", () => undefined) // then: the close event, counted as missing answers
                resolve(client)
            }
            socket.on(
                "data",
                packetReader((first, body) => client.onPacket(first, body, fail))
            )
            socket.once("close", () => {
                client.closed = true
                fail(new Error(`${clientId}: connection closed`))
                client.emit("close")
            })
        })
    }

    /** Subscribes and waits for the SUBACK. */
    subscribe(filters: [topic: string, qos: number][]): Promise<void> {
        const packetId = this.takePacketId()
        return new Promise(resolve => {
            this.waiting.set(packetId, resolve)
            this.socket.write(subscribePacket(packetId, filters))
        })
    }

    /** A QoS 0 publish; false if the connection is gone. */
    publish(topic: string, payload: string): boolean {
        if (this.closed) return false
        return this.socket.write(publishPacket(topic, payload))
    }

    /** Closes the connection (no DISCONNECT: as a device that goes away); resolves once it is closed. */
    end(): Promise<void> {
        if (this.closed) return Promise.resolve()
        return new Promise(resolve => {
            this.socket.once("close", () => resolve())
            this.socket.destroy()
        })
    }

    private onPacket(first: number, body: Buffer, fail: (error: Error) => void): void {
        switch (first >> 4) {
            case PACKET.CONNACK:
                if (body[1] !== 0) return fail(new Error(`the broker refused the connection (code ${body[1]})`))
                return this.connected?.()
            case PACKET.SUBACK: {
                const packetId = packetIdOf(body)
                this.waiting.get(packetId)?.()
                this.waiting.delete(packetId)
                return
            }
            case PACKET.PUBLISH: {
                const message = parsePublish(first, body)
                if (message.qos === 1) this.socket.write(pubackPacket(message.packetId))
                this.emit("message", message.topic, message.payload)
                return
            }
        }
    }

    private takePacketId(): number {
        const id = this.nextPacketId
        this.nextPacketId = (this.nextPacketId % 0xffff) + 1
        return id
    }
}
