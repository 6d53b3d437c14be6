/**
 * "No client can make the server grow without bound", attacked through stored sessions: aedes queues a
 * copy of every QoS 1 message for every stored session subscribed to it, however long ago it left. The
 * server runs as a child process, so the memory measured is its own, read after a full garbage
 * collection (memory-probe.mjs) so that garbage not yet collected does not count; each scenario prints
 * its RSS and heap. The same load runs first without sessions: what the load alone adds is not the
 * sessions' doing. Scaled down from the issue's (3,000 sessions, 60 s) to stay within about 20 s each,
 * still far past every limit, with each reading flipping the LED so each one makes a QoS 1 command.
 */
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterEach, expect, test } from "vitest"
import { saveCredentials, type Users } from "../../server/auth/credentials"
import { hashPassword } from "../../server/auth/password-hash"
import { clientIds } from "../../server/protocol/contract"
import { Inbox, closeClient, connectClient, until } from "../helpers/mqtt"
import { connectPacket, leaveSession } from "../helpers/raw-mqtt"
import { loginOf, passwordOf } from "../helpers/secured-broker"
import { MEMORY_PROBE_ARGS, ServerProcess } from "../helpers/server-process"

/** The target: what the scenarios may add to the server's memory. */
const MAX_GROWTH_BYTES = 30 * 1024 * 1024
const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
const heap = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external

/** RSS and the JavaScript heap (with Buffers), each after a full GC: at start, after the load alone, after the attack. */
function report(start: NodeJS.MemoryUsage, before: NodeJS.MemoryUsage, after: NodeJS.MemoryUsage): string {
    return (
        `server RSS ${MiB(start.rss)}, after the load alone ${MiB(before.rss)}, after the attack ${MiB(after.rss)} ` +
        `(+${MiB(after.rss - before.rss)}); heap ${MiB(heap(before))} -> ${MiB(heap(after))} (+${MiB(heap(after) - heap(before))})`
    )
}

let server: ServerProcess | undefined
const clients: MqttClient[] = []
afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => closeClient(c)))
    await server?.stop()
    server?.cleanup()
    server = undefined
})

async function startServer(
    users: Record<string, "device">,
    args: string[] = []
): Promise<{ url: string; port: number }> {
    server = new ServerProcess(["--mqtt-port", "0", "--no-sim", ...args], { nodeArgs: MEMORY_PROBE_ARGS })
    if (Object.keys(users).length > 0) {
        const entries: Users = new Map()
        for (const [name, role] of Object.entries(users))
            entries.set(name, { role, hash: await hashPassword(passwordOf(name), { N: 1024, r: 8, p: 1 }) })
        await saveCredentials(join(server.dataDir, "users.json"), entries)
    }
    server.start()
    const [, url, port] = await server.waitFor(/MQTT broker listening on (mqtt:\/\/127\.0\.0\.1:(\d+))/)
    return { url, port: Number(port) }
}

async function client(url: string, options: Parameters<typeof connectClient>[1]): Promise<MqttClient> {
    const c = await connectClient(url, options)
    clients.push(c)
    return c
}

/** `count` sessions left behind, `parallel` at a time; resolves with how many CONNACK codes of each. */
async function leaveSessions(count: number, open: (i: number) => Promise<number>): Promise<Record<number, number>> {
    const codes: Record<number, number> = {}
    const parallel = 50
    for (let start = 0; start < count; start += parallel) {
        const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, k) => open(start + k))
        for (const code of await Promise.all(batch)) codes[code] = (codes[code] ?? 0) + 1
    }
    return codes
}

/** Readings that flip each device's LED each time (so each makes a command), paced, bounded in time. */
async function flood(devices: { client: MqttClient; id: string }[], readings: number, perSecond: number) {
    const started = Date.now()
    for (let sent = 0, round = 0; sent < readings; round++) {
        for (const { client, id } of devices) {
            client.publish(`${id}/telemetry`, JSON.stringify({ light: round % 2 === 0 ? 50 : 1000 }))
            sent++
        }
        const due = started + (sent / perSecond) * 1000
        if (due > Date.now()) await new Promise(r => setTimeout(r, due - Date.now()))
        if (Date.now() - started > 20_000) throw new Error("the flood took over 20 s")
    }
}

/** The well-behaved device still gets each command it needs while the attack's sessions are held. */
async function checkCommandsStillArrive(device: MqttClient, id: string, commands: Inbox): Promise<void> {
    device.publish(`${id}/telemetry`, '{"light":50}')
    expect((await commands.nextJson(10_000)).json).toMatchObject({ led_on: true })
    device.publish(`${id}/telemetry`, '{"light":1000}')
    expect((await commands.nextJson(10_000)).json).toMatchObject({ led_on: false })
}

test("one device login opening 1,000 stored sessions, then flipping its LED: the server grows < 30 MB", async () => {
    // devices allowed stored sessions, so the per-user limit is what holds (by default they are refused)
    const { url, port } = await startServer({ a: "device", good: "device", warm: "device" }, ["--mqtt-device-sessions"])
    const good = await client(url, { ...loginOf("good"), clientId: clientIds.device("good") })
    const goodCommands = await Inbox.open(good, "good/commands")
    await checkCommandsStillArrive(good, "good", goodCommands)
    const start = await server!.memory()
    // the same load first without sessions: what the load alone adds is not the sessions' doing
    const warm = await client(url, { ...loginOf("warm"), clientId: "warm-flood" })
    await flood([{ client: warm, id: "warm" }], 1500, 300)
    await checkCommandsStillArrive(good, "good", goodCommands)
    const before = await server!.memory()

    const codes = await leaveSessions(1000, i =>
        leaveSession(port, connectPacket(`a-${i}`, { clean: false, ...loginOf("a") }), [
            ["a/commands", 1],
            ["a/acks", 1],
        ])
    )
    const a = await client(url, { ...loginOf("a"), clientId: "a-flood" })
    let commands = 0
    await a.subscribeAsync("a/commands", { qos: 1 })
    a.on("message", () => commands++)
    await flood([{ client: a, id: "a" }], 1500, 300)
    await until("the flood's commands", () => commands >= 1000, 15_000)
    await checkCommandsStillArrive(good, "good", goodCommands)
    const after = await server!.memory()
    const growth = after.rss - before.rss
    console.log(
        `device login: ${report(start, before, after)}; sessions ${JSON.stringify(codes)} (CONNACK code: count), ${commands} commands`
    )
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES)
}, 60_000)

test("anonymous clients on loopback: 200 abandoned sessions, 9,000 readings from 10 devices: < 30 MB", async () => {
    const { url, port } = await startServer({})
    const devices = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => ({
            id: `d${i}`,
            client: await client(url, { clientId: clientIds.device(`d${i}`) }),
        }))
    )
    const calm = await client(url, { clientId: clientIds.device("calm") })
    const calmCommands = await Inbox.open(calm, "calm/commands")
    await checkCommandsStillArrive(calm, "calm", calmCommands)
    const start = await server!.memory()
    // the same load first without sessions, from other client ids (the rate limit is per client id)
    const warm = await Promise.all(
        devices.map(async ({ id }) => ({ id, client: await client(url, { clientId: `warm-${id}` }) }))
    )
    await flood(warm, 9000, 1500)
    await checkCommandsStillArrive(calm, "calm", calmCommands)
    const watcher = await client(url, { clientId: "watcher" })
    const before = await server!.memory()

    const codes = await leaveSessions(200, i =>
        leaveSession(port, connectPacket(`abandoned-${i}`, { clean: false }), [
            ["+/commands", 1],
            ["+/acks", 1],
        ])
    )
    let commands = 0
    await watcher.subscribeAsync("+/commands", { qos: 1 })
    watcher.on("message", () => commands++)
    await flood(devices, 9000, 1500)
    await until("the flood's commands", () => commands >= 6000, 15_000)
    await checkCommandsStillArrive(calm, "calm", calmCommands)
    const after = await server!.memory()
    const growth = after.rss - before.rss
    console.log(
        `anonymous: ${report(start, before, after)}; sessions ${JSON.stringify(codes)} (CONNACK code: count), ${commands} commands`
    )
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES)
}, 60_000)
