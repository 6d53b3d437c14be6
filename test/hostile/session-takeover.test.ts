/**
 * docs/security.md: "A session cannot be taken over by another user." Attacked here with a second user's
 * own valid login and the victim's client id, against a session that is connected and one that is only
 * stored (the victim is offline, a command waits for it). The victim's session must come back untouched.
 */
import { connect, type IClientOptions, type MqttClient } from "mqtt"
import { afterEach, expect, test } from "vitest"
import { Inbox, closeClient, connectClient, until, within } from "../helpers/mqtt"
import { loginOf, startSecuredBroker, type SecuredBroker } from "../helpers/secured-broker"

const running: SecuredBroker[] = []
const clients: MqttClient[] = []
afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => closeClient(c)))
    for (const s of running.splice(0)) await s.stop()
})

async function start(): Promise<SecuredBroker> {
    // devices may keep sessions here, so the victim has one to steal (by default they may not: session-limits)
    const s = await startSecuredBroker(
        { b: "device", a: "device", root: "admin" },
        { sessions: { deviceSessions: true } }
    )
    running.push(s)
    return s
}

async function client(s: SecuredBroker, options: IClientOptions): Promise<MqttClient> {
    const c = await connectClient(s.broker.url, options)
    clients.push(c)
    return c
}

/** B keeps a session under `b-c`, subscribed to its commands, and leaves; one command waits for it. */
async function storedSessionWithOneCommand(s: SecuredBroker): Promise<void> {
    const b = await connectClient(s.broker.url, { ...loginOf("b"), clientId: "b-c", clean: false })
    await within(5000, "B's subscription", b.subscribeAsync("b/commands", { qos: 1 }))
    await closeClient(b)
    const root = await client(s, loginOf("root"))
    await within(5000, "the command to be queued", root.publishAsync("b/commands", '{"led_on":true}', { qos: 1 }))
}

/** B comes back to its session: the command it missed. */
async function commandWaitingForB(s: SecuredBroker): Promise<string> {
    const received: string[] = []
    // listening before the CONNACK: the queue can come in the same packet as it
    const b = connect(s.broker.url, { ...loginOf("b"), clientId: "b-c", clean: false, reconnectPeriod: 0 })
    clients.push(b)
    b.on("message", (_topic, payload) => received.push(payload.toString()))
    await until("B's queued command", () => received.length > 0)
    return received[0]
}

test("another user cannot resume a stored session (CONNACK 5); its owner finds its command waiting", async () => {
    const s = await start()
    await storedSessionWithOneCommand(s)
    await expect(connectClient(s.broker.url, { ...loginOf("a"), clientId: "b-c", clean: false })).rejects.toMatchObject(
        {
            code: 5,
        }
    )
    expect(await commandWaitingForB(s)).toBe('{"led_on":true}')
    expect(s.auth.stats().takeoversRefused).toBe(1)
    expect(s.log()).toContain("MQTT login refused for a from 127.0.0.1: client id b-c belongs to another user")
})

test("another user cannot wipe a stored session with a clean one either", async () => {
    const s = await start()
    await storedSessionWithOneCommand(s)
    await expect(connectClient(s.broker.url, { ...loginOf("a"), clientId: "b-c", clean: true })).rejects.toMatchObject({
        code: 5,
    })
    expect(await commandWaitingForB(s)).toBe('{"led_on":true}')
})

test("another user cannot take a connected session; its own user takes it back", async () => {
    const s = await start()
    const b = await client(s, { ...loginOf("b"), clientId: "b-c" })
    await expect(connectClient(s.broker.url, { ...loginOf("a"), clientId: "b-c" })).rejects.toMatchObject({ code: 5 })
    expect(b.connected).toBe(true)
    const commands = await Inbox.open(b, "b/commands")
    s.broker.aedes.publish(
        { cmd: "publish", topic: "b/commands", payload: Buffer.from("x"), qos: 0, retain: false, dup: false },
        () => {}
    )
    expect((await commands.next()).payload).toBe("x")
    const closed = new Promise<void>(resolve => b.once("close", () => resolve()))
    await client(s, { ...loginOf("b"), clientId: "b-c" })
    await within(3000, "the older connection to be closed", closed)
})

test("a session's owner ends it with a clean session; then the id is free for anyone", async () => {
    const s = await start()
    await storedSessionWithOneCommand(s)
    await closeClient(await connectClient(s.broker.url, { ...loginOf("b"), clientId: "b-c", clean: true }))
    await client(s, { ...loginOf("a"), clientId: "b-c", clean: false })
})
