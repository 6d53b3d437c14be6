/**
 * Logins on the embedded broker (EmbeddedBroker + BrokerAuth + UserStore, real aedes, real mqtt.js
 * clients on 127.0.0.1): who gets in, with which CONNACK code, what is logged, how guessing is slowed,
 * wills, the rate-limit hook, and that the server's own in-process bus is not subject to any of it.
 * The exhaustive topic-by-topic check is test/server/auth/acl-leaks.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect, type MqttClient } from "mqtt"
import { afterAll, afterEach, describe, expect, test } from "vitest"
import { BrokerAuth, type BrokerAuthOptions } from "../../../server/auth/broker-auth"
import { saveCredentials, type Role, type Users } from "../../../server/auth/credentials"
import { hashPassword } from "../../../server/auth/password-hash"
import { UserStore } from "../../../server/auth/user-store"
import { EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { EmbeddedBus } from "../../../server/mqtt/embedded-bus"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until, within } from "../../helpers/mqtt"

const dir = mkdtempSync(join(tmpdir(), "nightlight-auth-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const PASSWORDS: Record<string, [Role, string]> = {
    porch: ["device", "porch-password"],
    kitchen: ["device", "kitchen-password"],
    "nightlight-server": ["server", "server-password"],
    root: ["admin", "admin-password"],
}
const login = (name: string) => ({ username: name, password: PASSWORDS[name][1] })

interface Setup {
    broker: EmbeddedBroker
    auth: BrokerAuth
    store: UserStore
    lines: string[]
    file: string
}

const running: Setup[] = []
const clients: MqttClient[] = []
afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => closeClient(c)))
    for (const s of running.splice(0)) {
        s.store.stop()
        await s.broker.stop()
    }
})

async function start(options: Partial<BrokerAuthOptions> = {}): Promise<Setup> {
    const users: Users = new Map()
    for (const [name, [role, password]] of Object.entries(PASSWORDS))
        users.set(name, { role, hash: await hashPassword(password, { N: 1024, r: 8, p: 1 }) })
    const file = join(dir, `users-${running.length}-${Date.now()}.json`)
    await saveCredentials(file, users)
    const { logger, lines } = recordingLogger("info")
    const store = new UserStore({ file, logger, pollMs: 60_000 })
    await store.start()
    const auth = new BrokerAuth({ users: store, allowAnonymous: false, logger, ...options })
    const broker = new EmbeddedBroker({ host: HOST, port: 0, logger, auth })
    await broker.start()
    const setup = { broker, auth, store, lines, file }
    running.push(setup)
    return setup
}

async function client(url: string, options: Parameters<typeof connectClient>[1] = {}): Promise<MqttClient> {
    const c = await connectClient(url, options)
    clients.push(c)
    return c
}

const log = (s: Setup) => s.lines.join("")

describe("logins", () => {
    test("anonymous: CONNACK 5; wrong password or unknown user: 4; the right password gets in", async () => {
        const s = await start()
        await expect(connectClient(s.broker.url)).rejects.toMatchObject({ code: 5 })
        await expect(
            connectClient(s.broker.url, { username: "porch", password: "kitchen-password" })
        ).rejects.toMatchObject({
            code: 4,
        })
        await expect(connectClient(s.broker.url, { username: "nobody", password: "x" })).rejects.toMatchObject({
            code: 4,
        })
        await expect(connectClient(s.broker.url, { username: "porch" })).rejects.toMatchObject({ code: 4 })
        await client(s.broker.url, login("porch"))
        expect(log(s)).toContain(
            "MQTT login refused for (anonymous) from 127.0.0.1: no username: this broker needs a login"
        )
        expect(log(s)).toContain("MQTT login refused for porch from 127.0.0.1: wrong password")
        expect(log(s)).toContain("MQTT login refused for nobody from 127.0.0.1: no such user")
        expect(s.auth.stats()).toMatchObject({ logins: 1, failedLogins: 3 })
    })

    test("with anonymous clients allowed, they have every right, as before; users keep their limits", async () => {
        const s = await start({ allowAnonymous: true })
        const anonymous = await client(s.broker.url)
        const all = await Inbox.open(anonymous, "#")
        const porch = await client(s.broker.url, login("porch"))
        porch.publish("porch/telemetry", '{"light":5}')
        expect(await all.next()).toMatchObject({ topic: "porch/telemetry" })
        await expect(porch.subscribeAsync("#")).rejects.toThrow(/Subscribe error/)
    })

    test("a login is remembered: a device reconnecting costs no new password check; a wrong one still does", async () => {
        const s = await start()
        await closeClient(await connectClient(s.broker.url, login("porch")))
        await closeClient(await connectClient(s.broker.url, login("porch")))
        expect(s.auth.stats().passwordChecks).toBe(1)
        await expect(connectClient(s.broker.url, { username: "porch", password: "guess" })).rejects.toMatchObject({
            code: 4,
        })
        expect(s.auth.stats().passwordChecks).toBe(2)
    })

    test("a client id in use by one user cannot be taken by another; its own user takes it back", async () => {
        const s = await start()
        const porch = await client(s.broker.url, { ...login("porch"), clientId: "porchnightlight_client" })
        await expect(
            connectClient(s.broker.url, { ...login("kitchen"), clientId: "porchnightlight_client" })
        ).rejects.toMatchObject({ code: 5 })
        expect(porch.connected).toBe(true)
        const closed = new Promise<void>(resolve => porch.once("close", () => resolve()))
        await client(s.broker.url, { ...login("porch"), clientId: "porchnightlight_client" })
        await within(3000, "the older session to be closed", closed)
        expect(log(s)).toContain("client id porchnightlight_client belongs to another user")
    })

    test("too many failures from one address: refused unchecked, even the right password, until the window passes", async () => {
        let now = 1_000_000
        const s = await start({ clock: () => now, limits: { maxFailures: 3 } })
        for (let i = 0; i < 3; i++)
            await expect(
                connectClient(s.broker.url, { username: "porch", password: `guess-${i}` })
            ).rejects.toMatchObject({
                code: 4,
            })
        const checks = s.auth.stats().passwordChecks
        await expect(connectClient(s.broker.url, login("porch"))).rejects.toMatchObject({ code: 5 })
        expect(s.auth.stats()).toMatchObject({ lockedOut: 1, passwordChecks: checks })
        // one line per user and address per minute, with the count of those left out
        expect(log(s).match(/login refused for porch from 127\.0\.0\.1: wrong password/g)).toHaveLength(1)
        expect(log(s)).toContain("too many failed logins from this address; refused unchecked")
        now += 60_000
        await client(s.broker.url, login("porch"))
        await expect(connectClient(s.broker.url, { username: "porch", password: "again" })).rejects.toMatchObject({
            code: 4,
        })
        expect(log(s)).toContain(
            "MQTT logins refused for porch from 127.0.0.1: suppressed 2 similar lines in the last 60 s"
        )
        expect(log(s).match(/login refused for porch from 127\.0\.0\.1: wrong password/g)).toHaveLength(2)
    })
})

describe("what logged-in clients may do", () => {
    test("a device's will on its own status is published; a will on another device's status is not", async () => {
        const s = await start()
        const root = await client(s.broker.url, login("root"))
        const status = await Inbox.open(root, "+/status")
        const porch = connect(s.broker.url, {
            ...login("porch"),
            reconnectPeriod: 0,
            will: { topic: "porch/status", payload: Buffer.from("offline"), qos: 1, retain: true },
        })
        const liar = connect(s.broker.url, {
            ...login("kitchen"),
            reconnectPeriod: 0,
            will: { topic: "porch/status", payload: Buffer.from("forged"), qos: 1, retain: true },
        })
        await within(
            5000,
            "both devices connected",
            Promise.all([porch, liar].map(c => new Promise(r => c.once("connect", r))))
        )
        liar.stream.destroy() // dropped without DISCONNECT: the broker publishes the will, if allowed
        await until("the forged will to be refused", () => s.auth.stats().deniedPublishes === 1)
        porch.stream.destroy()
        expect(await status.next()).toMatchObject({ topic: "porch/status", payload: "offline" })
        expect(log(s)).toContain("kitchen (device) may not publish to porch/status (its will)")
        expect(status.pending).toBe(0)
    })

    test("over the rate limit: publishes are dropped, QoS 1 still acknowledged, the device stays; the server role is not limited", async () => {
        let allowed = 2
        const keys: string[] = []
        const s = await start({
            publishLimit: key => {
                keys.push(key)
                return allowed-- > 0
            },
        })
        const root = await client(s.broker.url, login("root"))
        const readings = await Inbox.open(root, "+/telemetry")
        const porch = await client(s.broker.url, login("porch"))
        for (let seq = 1; seq <= 10; seq++)
            await within(3000, `PUBACK ${seq}`, porch.publishAsync("porch/telemetry", `{"light":${seq}}`, { qos: 1 }))
        porch.publish("porch/telemetry", '{"light":11}', { qos: 0 })
        expect((await readings.next()).payload).toBe('{"light":1}')
        expect((await readings.next()).payload).toBe('{"light":2}')
        expect(porch.connected).toBe(true)
        // the last (QoS 0) publish has no acknowledgement to wait for
        await until("the 11th publish to be counted", () => s.auth.stats().rateLimited === 9)
        const server = await client(s.broker.url, login("nightlight-server"))
        const commands = await Inbox.open(porch, "porch/commands")
        await server.publishAsync("porch/commands", '{"led_on":true}', { qos: 1 })
        expect(await commands.next()).toMatchObject({ payload: '{"led_on":true}' })
        expect(new Set(keys)).toEqual(new Set(["porch"]))
        expect(readings.pending).toBe(0)
    })

    test("the server's in-process bus is not a client: no login, no rules", async () => {
        const s = await start()
        const bus = new EmbeddedBus(s.broker, recordingLogger("silent").logger)
        const heard: string[] = []
        await bus.subscribe("+/telemetry", topic => heard.push(topic))
        await bus.subscribe("#", topic => heard.push(`#:${topic}`))
        await bus.start()
        const porch = await client(s.broker.url, login("porch"))
        const commands = await Inbox.open(porch, "porch/commands")
        porch.publish("porch/telemetry", '{"light":100}')
        await until("the bus to hear porch", () => heard.includes("porch/telemetry"))
        await bus.publish("porch/commands", '{"led_on":true}', { qos: 1, retain: true })
        expect(await commands.next()).toMatchObject({ payload: '{"led_on":true}' })
        expect(heard).toContain("#:porch/telemetry")
        await bus.stop()
    })

    test("a user removed, or given a new password, is disconnected and cannot come back with the old one", async () => {
        const s = await start()
        const porch = await client(s.broker.url, login("porch"))
        const kitchen = await client(s.broker.url, login("kitchen"))
        const closed = new Promise<void>(resolve => porch.once("close", () => resolve()))
        const users: Users = new Map()
        users.set("kitchen", s.store.get("kitchen")!)
        await saveCredentials(s.file, users)
        await s.store.poll()
        await within(3000, "porch's session to be closed", closed)
        expect(kitchen.connected).toBe(true)
        await expect(connectClient(s.broker.url, login("porch"))).rejects.toMatchObject({ code: 4 })
        expect(log(s)).toContain("closed porch's session")
        expect(s.auth.stats().kicked).toBe(1)
    })

    test("why refused publishes are dropped: aedes answers an authorizePublish error by closing the connection", async () => {
        // aedes' own hook refuses publishes to $SYS with an error, as ours would for a refused topic
        const broker = new EmbeddedBroker({ host: HOST, port: 0, logger: recordingLogger("silent").logger })
        await broker.start()
        try {
            const c = await client(broker.url)
            const closed = new Promise<void>(resolve => c.once("close", () => resolve()))
            c.publish("$SYS/x", "y", { qos: 1 })
            await within(3000, "the connection to be closed", closed)
        } finally {
            await broker.stop()
        }
    })

    test("aedes 1.2 refuses MQTT 5 clients, so MQTT 3.1.1 behaviour is all that applies", async () => {
        const s = await start()
        const v5 = connect(s.broker.url, { ...login("porch"), protocolVersion: 5, reconnectPeriod: 0 })
        const error = await within(5000, "the refusal", new Promise<Error>(resolve => v5.once("error", resolve)))
        v5.end(true)
        expect(error).toMatchObject({ code: 1 }) // unacceptable protocol version
    })
})
