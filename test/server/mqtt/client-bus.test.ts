/**
 * The external-broker bus when the broker is not there: at start-up, and going away and coming back.
 * The broker is a real aedes on a fixed free port, so it can be stopped and started again in place.
 * Last, overlapping subscriptions on a real Mosquitto (skipped without it, except under CI).
 */
import { EventEmitter } from "node:events"
import { createServer, type AddressInfo, type Socket } from "node:net"
import { afterEach, expect, test } from "vitest"
import { Aedes } from "aedes"
import type { MqttClient } from "mqtt"
import { EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { MqttClientBus } from "../../../server/mqtt/client-bus"
import { Mosquitto, requireMosquitto, skipWithoutMosquitto } from "../../helpers/mosquitto"
import {
    HOST,
    Inbox,
    closeClient,
    connectClient,
    freePort,
    nextEvent,
    recordingLogger,
    until,
    within,
} from "../../helpers/mqtt"

const RETRY_MS = 100
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startBroker(port: number): Promise<EmbeddedBroker> {
    const { logger } = recordingLogger("silent")
    const broker = new EmbeddedBroker({ host: HOST, port, logger })
    await broker.start()
    cleanups.push(() => broker.stop())
    return broker
}

function startBus(port: number) {
    const { logger, lines } = recordingLogger("info")
    const bus = new MqttClientBus({ url: `mqtt://${HOST}:${port}`, logger, reconnectPeriodMs: RETRY_MS })
    cleanups.push(() => bus.stop())
    const received = new EventEmitter()
    const subscribed = bus.subscribe("+/telemetry", topic => received.emit(topic))
    return { bus, lines, received, subscribed }
}

/** Publishes from `client` and waits for the bus to receive it ("online" means it is subscribed). */
async function deliveredThrough(client: MqttClient, received: EventEmitter, topic: string): Promise<void> {
    const arrived = nextEvent(received, topic)
    client.publish(topic, "{}")
    await arrived
}

test("unreachable at start-up: start() resolves with one warning; it connects once the broker appears", async () => {
    const port = await freePort()
    const { bus, lines, received, subscribed } = startBus(port)
    await within(3000, "start() with no broker", bus.start())
    await subscribed
    expect(bus.isOnline).toBe(false)
    await expect(bus.publish("x/commands", "{}")).rejects.toThrow()
    // Several retries later there is still one warning, naming the broker.
    await new Promise(resolve => setTimeout(resolve, RETRY_MS * 4))
    const warnings = lines.filter(l => l.includes("WARN"))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(
        new RegExp(`cannot reach MQTT broker mqtt://${HOST}:${port} \\(.*ECONNREFUSED.*\\); will keep trying`)
    )

    const online = nextEvent(bus, "online")
    const broker = await startBroker(port)
    await online
    expect(lines.join("")).toMatch(/connected to MQTT broker .* again after/)
    const client = await connectClient(broker.url)
    cleanups.push(() => closeClient(client))
    await deliveredThrough(client, received, "late/telemetry")
})

test("the broker restarts: the bus reports the loss, reconnects, subscribes again and publishes again", async () => {
    const port = await freePort()
    let broker = await startBroker(port)
    const { bus, lines, received } = startBus(port)
    await bus.start()
    expect(bus.isOnline).toBe(true)

    const offline = nextEvent(bus, "offline")
    await broker.stop()
    await offline
    expect(lines.join("")).toMatch(/lost the connection to MQTT broker .*; reconnecting every 0.1 s/)

    const online = nextEvent(bus, "online")
    broker = await startBroker(port)
    await online
    // A new broker knows nothing of the old subscriptions: this only works if the bus subscribed again.
    const client = await connectClient(broker.url)
    cleanups.push(() => closeClient(client))
    const inbox = await Inbox.open(client, "back/commands")
    client.publish("back/telemetry", "{}")
    await deliveredThrough(client, received, "back/telemetry")
    await bus.publish("back/commands", "ok")
    expect((await inbox.next()).payload).toBe("ok")
})

test("credentials in the URL are never logged", async () => {
    const port = await freePort()
    const { logger, lines } = recordingLogger("debug")
    const bus = new MqttClientBus({ url: `mqtt://me:s3cret@${HOST}:${port}`, logger, reconnectPeriodMs: RETRY_MS })
    cleanups.push(() => bus.stop())
    await bus.start()
    expect(lines.join("")).toContain(`mqtt://me:***@${HOST}:${port}`)
    expect(lines.join("")).not.toContain("s3cret")
})

test("a broker that accepts TCP but never answers: stop() ends a pending start() at once", async () => {
    const silent = createServer(socket => socket.on("error", () => undefined))
    const sockets: Socket[] = []
    silent.on("connection", socket => sockets.push(socket))
    await new Promise<void>(resolve => silent.listen(0, HOST, resolve))
    cleanups.push(async () => {
        for (const socket of sockets) socket.destroy()
        await new Promise(resolve => silent.close(resolve))
    })
    const { port } = silent.address() as AddressInfo
    const { logger } = recordingLogger("silent")
    const bus = new MqttClientBus({ url: `mqtt://${HOST}:${port}`, logger })
    const started = bus.start()
    await new Promise<void>(resolve => silent.once("connection", () => resolve()))
    await within(3000, "stop()", bus.stop())
    await within(1000, "the pending start() to settle", started)
    expect(bus.isOnline).toBe(false)
})

/** Publishes a marker from the bus and returns the topics `client` saw on `filter` up to and including it. */
async function seenBefore(bus: MqttClientBus, client: MqttClient, filter: string, marker: string): Promise<string[]> {
    const inbox = await Inbox.open(client, filter)
    await bus.publish(marker, "marker")
    const topics: string[] = []
    while (topics[topics.length - 1] !== marker) topics.push((await inbox.next()).topic)
    return topics
}

test("nothing is queued while the broker is away: publish rejects at once and nothing arrives later", async () => {
    const port = await freePort()
    let broker = await startBroker(port)
    const { bus } = startBus(port)
    await bus.start()
    const offline = nextEvent(bus, "offline")
    await broker.stop()
    await offline

    for (const options of [{}, { qos: 1 as const, retain: true }])
        await expect(within(1000, "publish to reject", bus.publish("q/commands", "stale", options))).rejects.toThrow(
            `not connected to MQTT broker mqtt://${HOST}:${port}`
        )

    const online = nextEvent(bus, "online")
    broker = await startBroker(port)
    await online
    const client = await connectClient(broker.url)
    cleanups.push(() => closeClient(client))
    // a retained "stale" would be delivered on subscribing, before the marker
    expect(await seenBefore(bus, client, "q/#", "q/marker")).toEqual(["q/marker"])
})

test("a QoS 1 message in flight when the connection drops is dropped, not sent again on reconnection", async () => {
    const port = await freePort()
    // A broker that never acknowledges messages on stuck/..., so one stays in flight.
    const aedes = await Aedes.createBroker({
        authorizePublish: (_client, packet, callback) => {
            if (!packet.topic.startsWith("stuck/")) callback(null)
        },
    })
    const sockets = new Set<Socket>()
    const silent = createServer(socket => {
        sockets.add(socket)
        aedes.handle(socket)
    })
    await new Promise<void>(resolve => silent.listen(port, HOST, resolve))
    const { bus, lines } = startBus(port)
    await bus.start()
    const inFlight = bus.publish("stuck/commands", "old", { qos: 1, retain: true })
    await new Promise(resolve => setTimeout(resolve, 100))

    const offline = nextEvent(bus, "offline")
    await new Promise<void>(resolve => aedes.close(() => resolve()))
    for (const socket of sockets) socket.destroy()
    await new Promise(resolve => silent.close(resolve))
    await offline
    await expect(within(1000, "the in-flight publish to settle", inFlight)).rejects.toThrow(/dropped/)

    const online = nextEvent(bus, "online")
    const broker = await startBroker(port)
    await online
    const client = await connectClient(broker.url)
    cleanups.push(() => closeClient(client))
    expect(await seenBefore(bus, client, "stuck/#", "stuck/marker")).toEqual(["stuck/marker"])
    expect(lines.join("")).not.toContain("ERROR")
})

test.skipIf(skipWithoutMosquitto("test/server/mqtt/client-bus.test.ts", "Overlapping subscriptions on Mosquitto"))(
    "overlapping subscriptions, on a broker that sends a copy per subscription (Mosquitto, MQTT 5): each handler gets each message once",
    async () => {
        requireMosquitto()
        const mosquitto = new Mosquitto(await freePort())
        await mosquitto.start()
        cleanups.push(async () => {
            await mosquitto.stop()
            mosquitto.cleanup()
        })
        const client = await connectClient(mosquitto.url)
        cleanups.push(() => closeClient(client))
        await client.publishAsync("hass/status", "kept", { retain: true, qos: 1 })
        await client.publishAsync("dev/status", "kept", { retain: true, qos: 1 })
        const { logger } = recordingLogger("silent")
        // a share group: MQTT 5, to which Mosquitto 2.0 sends a message once per matching subscription
        const bus = new MqttClientBus({ url: mosquitto.url, logger, shareGroup: "g" })
        cleanups.push(() => bus.stop())
        const got: Record<string, string[]> = {}
        const record = (name: string) => (topic: string, payload: Buffer) =>
            (got[name] ??= []).push(`${topic}=${payload.toString()}`)
        await bus.subscribe("+/status", record("all"))
        await bus.subscribe("hass/status", record("birth"))
        await bus.start()
        // made later, covered by "+/status": still gets its retained message
        await bus.subscribe("dev/status", record("dev"))
        // made later, covering the others: they now come through it
        await bus.subscribe("#", record("everything"))
        client.publish("hass/status", "live")
        client.publish("end", "")
        await until("the end marker", () => got.everything?.includes("end=") ?? false)
        // The live message once per handler. (Retained ones come again with each subscription made.)
        const live = (name: string) => got[name]?.filter(m => m === "hass/status=live")
        for (const name of ["all", "birth", "everything"]) expect(live(name), name).toEqual(["hass/status=live"])
        expect(got.birth?.[0]).toBe("hass/status=kept")
        expect(got.dev).toContain("dev/status=kept")
        expect(got.dev).not.toContain("hass/status=live")
    }
)
