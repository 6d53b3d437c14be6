/**
 * An attacker's own ends of the wire for the hostile suite (test/hostile/): raw TCP sockets from other
 * loopback addresses (127.0.0.2, 127.0.0.3...: every 127.x.y.z is this machine on Linux, so each
 * stands for another attacker's address), hand-made CONNECT packets with a login, and an embedded
 * broker with users to attack. Every wait is bounded.
 */
import { connect as netConnect, type Socket } from "node:net"
import { packetReader } from "../../server/mqtt/mqtt-wire"
import type { BrokerAuthOptions } from "../../server/auth/broker-auth"
import type { Role } from "../../server/auth/credentials"
import type { ConnectionLimits } from "../../server/mqtt/connection-gate"
import type { BrokerTlsOptions } from "../../server/mqtt/embedded-broker"
import { HOST, within } from "./mqtt"
import { connectPacket } from "./raw-mqtt"
import { startSecuredBroker, type SecuredBroker } from "./secured-broker"

/** The n-th other loopback address (1 → 127.0.0.2). */
export const otherAddress = (n: number) => `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`

/** A CONNECT (MQTT 3.1.1, clean session, keepalive 0) with a user name and password. */
export function loginPacket(clientId: string, username: string, password: string): Buffer {
    return connectPacket(clientId, { username, password })
}

/** A TCP connection from `from` to the broker, open (or refused: then `closed` is already settled). */
export async function rawSocket(port: number, from: string): Promise<{ socket: Socket; closed: Promise<void> }> {
    const socket = netConnect({ port, host: HOST, localAddress: from })
    socket.on("error", () => undefined) // a reset is the broker dropping us: `closed` reports it
    socket.resume()
    const closed = new Promise<void>(resolve => socket.once("close", () => resolve()))
    await within(
        5000,
        `a TCP connection from ${from}`,
        new Promise<void>(resolve => {
            socket.once("connect", () => resolve())
            void closed.then(resolve)
        })
    )
    return { socket, closed }
}

/** Whether `closed` settles within `ms`. */
export async function closesWithin(closed: Promise<void>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<false>(resolve => (timer = setTimeout(() => resolve(false), ms)))
    try {
        return await Promise.race([closed.then(() => true as const), late])
    } finally {
        clearTimeout(timer)
    }
}

/** Logs in over a raw socket from `from`; resolves with the CONNACK's return code ("closed": no CONNACK). */
export async function rawLogin(
    port: number,
    from: string,
    username: string,
    password: string,
    clientId = `${username}-${from}`
): Promise<{ code: number | "closed"; socket: Socket }> {
    const { socket, closed } = await rawSocket(port, from)
    const code = await within(
        10_000,
        `a CONNACK for ${username} from ${from}`,
        new Promise<number | "closed">(resolve => {
            socket.pause()
            socket.on(
                "data",
                packetReader((first, body) => {
                    if (first >> 4 === 2) resolve(body[1])
                })
            )
            socket.resume()
            void closed.then(() => resolve("closed"))
            socket.write(loginPacket(clientId, username, password))
        })
    )
    return { code, socket }
}

export type AttackedBroker = SecuredBroker

/** An embedded broker on 127.0.0.1 with these users (fast hashes: the tests are about who gets in). */
export function attackedBroker(
    users: Record<string, [Role, string]>,
    options: {
        auth?: Partial<BrokerAuthOptions>
        connectionLimits?: Partial<ConnectionLimits>
        tls?: BrokerTlsOptions
    } = {}
): Promise<AttackedBroker> {
    return startSecuredBroker(users, options.auth, { connectionLimits: options.connectionLimits, tls: options.tls })
}
