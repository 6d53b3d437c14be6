/**
 * Stored sessions are bounded (docs/security.md "Sessions"): per user, in all, in time, and in what each
 * one queues; a device, whose firmware never needs one, is refused one. Attacked with real mqtt.js
 * clients on the in-process broker, with small limits and a fake clock for the expiry.
 */
import { connect as netConnect } from "node:net"
import { connect, type MqttClient } from "mqtt"
import { afterEach, expect, test } from "vitest"
import type { BrokerAuthOptions } from "../../server/auth/broker-auth"
import { PACKET, packetReader, subscribePacket } from "../../server/mqtt/mqtt-wire"
import { closeClient, connectClient, until, within } from "../helpers/mqtt"
import { connectPacket } from "../helpers/raw-mqtt"
import { loginOf, startSecuredBroker, type SecuredBroker } from "../helpers/secured-broker"

const running: SecuredBroker[] = []
const clients: MqttClient[] = []
afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => closeClient(c)))
    for (const s of running.splice(0)) await s.stop()
})

async function start(options: Partial<BrokerAuthOptions> = {}): Promise<SecuredBroker> {
    const s = await startSecuredBroker({ porch: "device", o: "observer", p: "observer" }, options)
    running.push(s)
    return s
}

/** A client that resumes (or starts) a stored session: was one there, and what was queued in it. */
async function resume(s: SecuredBroker, clientId: string, user = "o") {
    const received: string[] = []
    const client = connect(s.broker.url, { ...loginOf(user), clientId, clean: false, reconnectPeriod: 0 })
    clients.push(client)
    client.on("message", (_topic, payload) => received.push(payload.toString()))
    const connack = await within(
        5000,
        `the CONNACK for ${clientId}`,
        new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
            client.once("connect", resolve)
            client.once("error", reject)
        })
    )
    return { client, sessionPresent: connack.sessionPresent, received }
}

/** Leaves a stored session under `clientId`, subscribed to porch's commands at QoS 1. */
async function leave(s: SecuredBroker, clientId: string, user = "o"): Promise<void> {
    const c = await connectClient(s.broker.url, { ...loginOf(user), clientId, clean: false })
    await within(5000, "the subscription", c.subscribeAsync("porch/commands", { qos: 1 }))
    await closeClient(c)
}

function command(s: SecuredBroker, payload: string): Promise<void> {
    return new Promise(resolve =>
        s.broker.aedes.publish(
            {
                cmd: "publish",
                topic: "porch/commands",
                payload: Buffer.from(payload),
                qos: 1,
                retain: false,
                dup: false,
            },
            () => resolve()
        )
    )
}

/** The session's first `count` messages (queued ones come in their order, whatever arrives live). */
async function firstMessages(session: Awaited<ReturnType<typeof resume>>, count: number): Promise<string[]> {
    await until(`${count} queued message(s)`, () => session.received.length >= count)
    return session.received.slice(0, count)
}

test("a device is refused a stored session (CONNACK 5) unless allowed; a clean one is its normal", async () => {
    const s = await start()
    await expect(
        connectClient(s.broker.url, { ...loginOf("porch"), clientId: "porch-1", clean: false })
    ).rejects.toMatchObject({ code: 5 })
    await closeClient(await connectClient(s.broker.url, { ...loginOf("porch"), clientId: "porch-1", clean: true }))
    expect(s.auth.stats().sessionsRefused).toBe(1)
    expect(s.log()).toContain("MQTT login refused for porch from 127.0.0.1: a device must use a clean session")

    const allowed = await start({ sessions: { deviceSessions: true } })
    await closeClient(
        await connectClient(allowed.broker.url, { ...loginOf("porch"), clientId: "porch-1", clean: false })
    )
})

test("per user: a new session past the limit replaces that user's longest-offline one", async () => {
    const s = await start({ sessions: { maxSessionsPerUser: 2 } })
    for (const id of ["o-1", "o-2", "o-3"]) await leave(s, id)
    await command(s, "c1")
    expect(s.auth.stats().sessionsEvicted).toBe(1)
    const third = await resume(s, "o-3")
    expect(third.sessionPresent).toBe(true)
    expect(await firstMessages(third, 1)).toEqual(["c1"])
    await closeClient(third.client)
    expect(s.log()).toContain("o has 2 stored sessions: forgot the one offline longest (o-1)")
    // o-1 was forgotten: coming back starts afresh (and, at the limit again, replaces o-2)
    expect((await resume(s, "o-1")).sessionPresent).toBe(false)
    // another user's sessions are never touched
    await leave(s, "p-1", "p")
    expect((await resume(s, "p-1", "p")).sessionPresent).toBe(true)
})

test("per user: with all its sessions connected, one more is refused (CONNACK 3)", async () => {
    const s = await start({ sessions: { maxSessionsPerUser: 2 } })
    await resume(s, "o-1")
    await resume(s, "o-2")
    await expect(connectClient(s.broker.url, { ...loginOf("o"), clientId: "o-3", clean: false })).rejects.toMatchObject(
        {
            code: 3,
        }
    )
    // a clean session is not limited
    clients.push(await connectClient(s.broker.url, { ...loginOf("o"), clientId: "o-3", clean: true }))
})

test("in all: past the limit a new session is refused (CONNACK 3), nobody else's is dropped", async () => {
    const s = await start({ sessions: { maxSessions: 2 } })
    await leave(s, "o-1")
    await leave(s, "o-2")
    await expect(connectClient(s.broker.url, { ...loginOf("p"), clientId: "p-1", clean: false })).rejects.toMatchObject(
        {
            code: 3,
        }
    )
    expect(s.auth.stats()).toMatchObject({ sessionsRefused: 1, sessionsEvicted: 0 })
    expect((await resume(s, "o-1")).sessionPresent).toBe(true)
})

test("a session whose client stays away longer than the expiry is forgotten, and its id is free again", async () => {
    let now = 1_000_000
    const s = await start({ clock: () => now, sessions: { expiryMs: 60_000 } })
    await leave(s, "o-1")
    await command(s, "c1")
    now += 59_999
    expect(await s.auth.expireSessions()).toBe(0)
    now += 1
    expect(await s.auth.expireSessions()).toBe(1)
    expect(s.auth.stats().sessionsExpired).toBe(1)
    const back = await resume(s, "o-1", "p")
    expect(back.sessionPresent).toBe(false)
    expect(back.received).toEqual([])
})

test("a session's queue keeps the newest messages up to its cap; the oldest are dropped and counted", async () => {
    const s = await start({ sessions: { maxQueued: 3 } })
    await leave(s, "o-1")
    for (const c of ["c1", "c2", "c3", "c4", "c5"]) await command(s, c)
    const back = await resume(s, "o-1")
    expect(await firstMessages(back, 3)).toEqual(["c3", "c4", "c5"])
    expect(s.auth.stats().queuedDropped).toBe(2)
    expect(s.log()).toContain("dropped the oldest message queued for o-1: its queue holds 3")
})

test("a connected session that never acknowledges is capped too, and stays connected", async () => {
    const s = await start({ sessions: { maxQueued: 3 } })
    // mqtt.js acknowledges every QoS 1 message; a hostile client would not
    const socket = netConnect(s.broker.port, "127.0.0.1")
    let subscribed!: () => void
    const suback = new Promise<void>(resolve => (subscribed = resolve))
    let publishes = 0
    socket.on(
        "data",
        packetReader(first => {
            if (first >> 4 === PACKET.CONNACK) socket.write(subscribePacket(1, [["porch/commands", 1]]))
            else if (first >> 4 === PACKET.SUBACK) subscribed()
            else if (first >> 4 === PACKET.PUBLISH) publishes++
        })
    )
    socket.write(connectPacket("o-1", { clean: false, ...loginOf("o") }))
    await within(5000, "the SUBACK", suback)
    for (let i = 0; i < 10; i++) await command(s, `c${i}`)
    await until("the 10 commands to be sent", () => publishes === 10)
    expect(s.auth.stats().queuedDropped).toBe(7)
    expect(socket.destroyed).toBe(false)
    socket.destroy()
})
