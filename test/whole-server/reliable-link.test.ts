/**
 * The server's half of the reliable link against a real aedes broker and real MQTT clients playing the
 * devices: acks, retained QoS 1 commands only when needed, hysteresis, the lesson's device, and a server
 * restart that rebuilds its state from the broker's retained messages (over both kinds of bus).
 */
import type { MqttClient } from "mqtt"
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { NightlightServer } from "../../server/controller/nightlight-server"
import { EmbeddedBroker } from "../../server/mqtt/embedded-broker"
import { EmbeddedBus } from "../../server/mqtt/embedded-bus"
import type { MessageBus } from "../../server/mqtt/message-bus"
import { MqttClientBus } from "../../server/mqtt/client-bus"
import type { CommandPayload } from "../../server/protocol/contract"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const { logger } = recordingLogger("silent")

/** An inbox on `filter` with a QoS 1 subscription, so QoS 1 deliveries show as such. */
async function inboxQoS1(client: MqttClient, filter: string): Promise<Inbox> {
    const inbox = await Inbox.open(client, filter)
    await client.subscribeAsync(filter, { qos: 1 })
    return inbox
}

const telemetry = (client: MqttClient, id: string, payload: object) =>
    client.publish(`${id}/telemetry`, JSON.stringify(payload))

describe("one server, several devices", () => {
    let server: RunningServer
    let device: MqttClient

    beforeAll(async () => {
        server = await startServer({ broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300 }, logger)
        device = await connectClient(server.brokerUrl)
    })
    afterAll(async () => {
        await closeClient(device)
        await server?.stop()
    })

    test("readings with seq get acks; commands are retained QoS 1, sent only when the decision changes", async () => {
        const commands = await inboxQoS1(device, "d1/commands")
        const acks = await Inbox.open(device, "d1/acks")
        for (let seq = 1; seq <= 5; seq++) telemetry(device, "d1", { light: 900, seq, boot: "b1", led: false })
        const first = await commands.next()
        expect(first).toMatchObject({ qos: 1, retain: false })
        const off = JSON.parse(first.payload) as CommandPayload
        expect(off).toMatchObject({ led_on: false })
        expect(off.seq).toBeGreaterThanOrEqual(Date.now() - 5000)
        expect(Math.abs(off.t! - Date.now())).toBeLessThan(5000)
        let ack = await acks.nextJson()
        while ((ack.json as { seq: number }).seq < 5) ack = await acks.nextJson()
        expect(ack.json).toEqual({ boot: "b1", seq: 5 })

        telemetry(device, "d1", { light: 100, seq: 6, boot: "b1", led: false })
        const on = (await commands.nextJson()).json as CommandPayload
        expect(on).toMatchObject({ led_on: true })
        expect(on.seq).toBeGreaterThan(off.seq!)
        expect(commands.pending).toBe(0)
        expect(server.controller.device("d1")).toMatchObject({ lastSeq: 6, ledOn: true, commandSeq: on.seq })
    })

    test("a client that subscribes later gets the current command, retained", async () => {
        const late = await connectClient(server.brokerUrl)
        try {
            const inbox = await inboxQoS1(late, "d1/commands")
            const message = await inbox.next()
            expect(message).toMatchObject({ retain: true })
            expect(JSON.parse(message.payload)).toMatchObject({ led_on: true })
            expect(server.controller.device("d1")!.commandSeq).toBe(JSON.parse(message.payload).seq)
        } finally {
            await closeClient(late)
        }
    })

    test("a replay of 600 readings gets a handful of acks, and the last one names reading 600", async () => {
        const acks = await Inbox.open(device, "replay/acks")
        for (let seq = 1; seq <= 600; seq++) telemetry(device, "replay", { light: 900, seq, boot: "r1" })
        let count = 0
        let last = 0
        while (last < 600) {
            last = ((await acks.nextJson()).json as { seq: number }).seq
            count++
        }
        await new Promise(r => setTimeout(r, 250))
        console.log(`600 readings in a burst → ${count} acks`)
        expect(count).toBeLessThanOrEqual(30)
        expect(acks.pending).toBe(0)
        expect(server.controller.device("replay")).toMatchObject({ lastSeq: 600, duplicates: 0, gaps: 0 })
    })

    test("the lesson's device (light only): a command on its first reading and on each change, no acks", async () => {
        const commands = await Inbox.open(device, "lesson/commands")
        const acks = await Inbox.open(device, "lesson/acks")
        for (const light of [100, 120, 250, 350, 900, 850, 200])
            device.publish("lesson/telemetry", JSON.stringify({ light }))
        const got = []
        for (let i = 0; i < 3; i++) got.push((await commands.nextJson()).json)
        expect(got).toMatchObject([{ led_on: true }, { led_on: false }, { led_on: true }])
        await until("the last reading to be handled", () => server.controller.device("lesson")?.lastLight === 200)
        expect(commands.pending).toBe(0)
        expect(acks.pending).toBe(0)
    })

    test("light hovering at the threshold ± 45 (inside the band) sends no second command", async () => {
        const commands = await Inbox.open(device, "hover/commands")
        telemetry(device, "hover", { light: 250, seq: 1, boot: "h1", led: false })
        expect((await commands.nextJson()).json).toMatchObject({ led_on: true })
        const noise = [12, -30, 41, -8, 25, -44, 3, 37, -19, 45, -2, -37, 30, -12, 18, -26, 9, -41, 33, -5]
        noise.forEach((n, i) => telemetry(device, "hover", { light: 300 + n, seq: i + 2, boot: "h1", led: true }))
        telemetry(device, "hover", { light: 900, seq: noise.length + 2, boot: "h1", led: true })
        // same connection, same order: a command for the noise would come before this one
        expect((await commands.nextJson()).json).toMatchObject({ led_on: false })
    })

    test("a server with no retained state keeps the LED the device reports inside the band", async () => {
        const commands = await Inbox.open(device, "fresh/commands")
        telemetry(device, "fresh", { light: 350, seq: 77, boot: "f1", led: true })
        expect((await commands.nextJson()).json).toMatchObject({ led_on: true })
    })
})

describe.each([
    { kind: "embedded bus", bus: (broker: EmbeddedBroker): MessageBus => new EmbeddedBus(broker, logger) },
    {
        kind: "external-broker bus",
        bus: (broker: EmbeddedBroker): MessageBus => new MqttClientBus({ url: broker.url, logger }),
    },
])("a server restart on the same broker ($kind)", ({ bus: makeBus }) => {
    let broker: EmbeddedBroker
    let device: MqttClient
    const running: { controller: NightlightServer; bus: MessageBus }[] = []

    async function startOn(): Promise<NightlightServer> {
        const bus = makeBus(broker)
        const controller = new NightlightServer({ bus, logger, threshold: 300, band: 100 })
        running.push({ controller, bus })
        await controller.start()
        await bus.start()
        return controller
    }
    async function stopAll(): Promise<void> {
        for (const { controller, bus } of running.splice(0)) {
            await controller.stop()
            await bus.stop()
        }
    }

    beforeAll(async () => {
        broker = new EmbeddedBroker({ host: HOST, port: 0, logger })
        await broker.start()
        device = await connectClient(broker.url)
    })
    afterEach(stopAll)
    afterAll(async () => {
        await closeClient(device)
        await broker.stop()
    })

    test("continues the command seq, keeps the LED inside the band, counts acked replays as duplicates", async () => {
        const id = "restart"
        const commands = await Inbox.open(device, `${id}/commands`)
        const acks = await Inbox.open(device, `${id}/acks`)
        await device.publishAsync(`${id}/status`, "online", { qos: 1, retain: true })
        const first = await startOn()
        for (let seq = 1; seq <= 10; seq++) telemetry(device, id, { light: 100, seq, boot: "b1", led: true })
        const on = (await commands.nextJson()).json as CommandPayload
        expect(on.led_on).toBe(true)
        let ack = (await acks.nextJson()).json as { seq: number }
        while (ack.seq < 10) ack = (await acks.nextJson()).json as { seq: number }
        await stopAll()

        const second = await startOn()
        await until("the state rebuilt from retained messages", () => {
            const d = second.device(id)
            return d?.commandSeq !== undefined && d.commandSeq >= on.seq! && d.lastSeq === 10 && d.online === true
        })
        expect(first.device(id)).toMatchObject({ commandSeq: on.seq, lastSeq: 10 })
        expect(second.device(id)).toMatchObject({ boot: "b1", ledOn: true, duplicates: 0, gaps: 0 })
        // the device replays readings 5..10 (already acknowledged), then one inside the band, then daylight
        for (let seq = 5; seq <= 10; seq++) telemetry(device, id, { light: 900, seq, boot: "b1", led: true })
        telemetry(device, id, { light: 350, seq: 11, boot: "b1", led: true })
        // "online" (retained) makes the first new reading send the decision again: same LED, higher seq
        const resent = (await commands.nextJson()).json as CommandPayload
        expect(resent.led_on).toBe(true)
        expect(resent.seq).toBeGreaterThan(on.seq!)
        telemetry(device, id, { light: 900, seq: 12, boot: "b1", led: true })
        const off = (await commands.nextJson()).json as CommandPayload
        // had a replayed 900 or the 350 been decided on, this would not be the next command
        expect(off.led_on).toBe(false)
        expect(off.seq).toBeGreaterThan(resent.seq!)
        await until("reading 12", () => second.device(id)!.lastSeq === 12)
        expect(second.device(id)).toMatchObject({ duplicates: 6, gaps: 0, ledOn: false, commandSeq: off.seq })
    })
})
