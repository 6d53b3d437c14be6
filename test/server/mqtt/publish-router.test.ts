/**
 * The shortcut for readings only the server wants (server/mqtt/publish-router.ts), on a real embedded
 * aedes broker with real mqtt.js clients: whatever way a reading goes, every subscriber gets it,
 * observers that come and go included, and retained or QoS 1 messages still go through aedes.
 */
import type { MqttClient } from "mqtt"
import { afterEach, beforeEach, expect, test } from "vitest"
import { EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { EmbeddedBus } from "../../../server/mqtt/embedded-bus"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../../helpers/mqtt"

const { logger } = recordingLogger("silent")
let broker: EmbeddedBroker
let bus: EmbeddedBus
let device: MqttClient
const clients: MqttClient[] = []
/** What the bus heard on +/telemetry, in order. */
let heard: string[]

beforeEach(async () => {
    broker = new EmbeddedBroker({ host: HOST, port: 0, logger })
    await broker.start()
    bus = new EmbeddedBus(broker, logger)
    heard = []
    await bus.subscribe("+/telemetry", (_topic, payload) => heard.push(payload.toString()))
    await bus.start()
    device = await client()
})
afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => closeClient(c)))
    await bus.stop()
    await broker.stop()
})

async function client(): Promise<MqttClient> {
    const c = await connectClient(broker.url)
    clients.push(c)
    return c
}

test("readings reach the server alone, and an observer as well from its subscription until it leaves", async () => {
    device.publish("porch/telemetry", "1")
    await until("the server to hear reading 1", () => heard.includes("1"))

    const observer = await client()
    const seen = await Inbox.open(observer, "#")
    device.publish("porch/telemetry", "2")
    expect((await seen.next()).payload).toBe("2")
    await until("the server to hear reading 2", () => heard.includes("2"))

    await observer.unsubscribeAsync("#")
    const other = await Inbox.open(await client(), "porch/status") // a topic only this client wants
    device.publish("porch/telemetry", "3")
    device.publish("porch/status", "online")
    await other.next() // published after reading 3 by the same client: reading 3 has been routed
    await until("the server to hear reading 3", () => heard.includes("3"))
    expect(seen.pending).toBe(0)
    expect(heard).toEqual(["1", "2", "3"])
})

test("a client that leaves without unsubscribing no longer holds readings back from the shortcut", async () => {
    const observer = await client()
    const seen = await Inbox.open(observer, "+/telemetry")
    device.publish("porch/telemetry", "1")
    expect((await seen.next()).payload).toBe("1")
    await closeClient(observer)
    device.publish("porch/telemetry", "2")
    await until("the server to hear reading 2", () => heard.includes("2"))
    expect(heard).toEqual(["1", "2"])
})

test("retained, QoS 1 readings go through aedes: the server hears them, a late subscriber the retained one", async () => {
    await device.publishAsync("porch/telemetry", "kept", { qos: 1, retain: true })
    await until("the server to hear the retained reading", () => heard.includes("kept"))
    const late = await Inbox.open(await client(), "porch/telemetry")
    expect(await late.next()).toMatchObject({ payload: "kept", retain: true })
})

test("two in-process subscriptions both hear a reading; one stopped hears no more", async () => {
    const everything: string[] = []
    const second = new EmbeddedBus(broker, logger)
    await second.subscribe("#", topic => everything.push(topic))
    await second.start()
    device.publish("porch/telemetry", "1")
    await until("both to hear reading 1", () => heard.includes("1") && everything.includes("porch/telemetry"))

    await second.stop()
    device.publish("hall/telemetry", "2")
    await until("the server to hear reading 2", () => heard.includes("2"))
    expect(everything).toEqual(["porch/telemetry"])
})
