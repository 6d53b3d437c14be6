/**
 * Each connection's parser reads from a plain BufferList instead of mqtt-packet's stream (the memory
 * saved: bench/README.md). What a client sends is still read whole however its bytes are cut, and a
 * malformed packet still closes only its own connection.
 */
import { once } from "node:events"
import { connect as netConnect, type Socket } from "node:net"
import { BufferList } from "bl"
import mqttPacket from "mqtt-packet"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { useListBuffer } from "../../../server/mqtt/parser-buffer"
import {
    PACKET,
    connectPacket,
    packetReader,
    parsePublish,
    publishPacket,
    subscribePacket,
} from "../../../server/mqtt/mqtt-wire"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until, within } from "../../helpers/mqtt"

type ParserWithList = ReturnType<typeof mqttPacket.parser> & { _list: unknown }

/** A list a parser can read from, and not a stream: nothing to pipe, no stream state. */
function isPlainList(list: unknown): boolean {
    return BufferList.isBufferList(list) && typeof (list as { pipe?: unknown }).pipe !== "function"
}

describe("useListBuffer", () => {
    test("swaps the parser's stream for a plain list, which parses a packet cut into single bytes", () => {
        const parser = mqttPacket.parser() as ParserWithList
        expect(isPlainList(parser._list)).toBe(false) // mqtt-packet's own: the stream
        expect(useListBuffer({ _parser: parser })).toBe(true)
        expect(isPlainList(parser._list)).toBe(true)

        const packets: mqttPacket.Packet[] = []
        parser.on("packet", p => packets.push(p))
        const bytes = Buffer.concat([publishPacket("d1/telemetry", '{"light": 120}'), publishPacket("d1/x", "2")])
        for (const byte of bytes) parser.parse(Buffer.from([byte]))
        expect(
            packets.map(p => [(p as mqttPacket.IPublishPacket).topic, String((p as mqttPacket.IPublishPacket).payload)])
        ).toEqual([
            ["d1/telemetry", '{"light": 120}'],
            ["d1/x", "2"],
        ])
    })

    test("changes nothing for a client laid out otherwise, or a parser that already holds bytes", () => {
        expect(useListBuffer({})).toBe(false)
        expect(useListBuffer({ _parser: {} })).toBe(false)
        expect(useListBuffer({ _parser: { _list: [] } })).toBe(false)

        const parser = mqttPacket.parser() as ParserWithList
        parser.parse(publishPacket("d1/telemetry", "x").subarray(0, 4)) // half a packet, kept for the rest
        const list = parser._list
        expect(useListBuffer({ _parser: parser })).toBe(false)
        expect(parser._list).toBe(list)
    })
})

describe("the embedded broker's connections", () => {
    let broker: EmbeddedBroker
    const { logger } = recordingLogger("warn")
    beforeAll(async () => {
        broker = new EmbeddedBroker({ host: HOST, port: 0, logger })
        await broker.start()
    })
    afterAll(() => broker.stop())

    /** A raw socket and every packet the broker sends it, as [type, body]. */
    async function rawClient(): Promise<{ socket: Socket; received: [number, Buffer][] }> {
        const socket = netConnect(broker.port, HOST)
        socket.setNoDelay(true)
        socket.on("error", () => undefined)
        const received: [number, Buffer][] = []
        socket.on(
            "data",
            packetReader((first, body) => received.push([first >> 4, body]))
        )
        await once(socket, "connect")
        return { socket, received }
    }

    test("every client's parser reads from a plain list (an mqtt-packet laid out otherwise fails here)", async () => {
        const a = await connectClient(broker.url, { clientId: "plain-a" })
        const b = await connectClient(broker.url, { clientId: "plain-b" })
        try {
            const { clients } = broker.aedes as unknown as {
                clients: Record<string, { _parser?: { _list?: unknown } }>
            }
            for (const id of ["plain-a", "plain-b"]) expect(isPlainList(clients[id]._parser?._list), id).toBe(true)
        } finally {
            await Promise.all([closeClient(a), closeClient(b)])
        }
    })

    test("CONNECT, SUBSCRIBE and PUBLISH sent a byte at a time, then all in one write, are read whole", async () => {
        for (const cut of ["bytes", "one write"] as const) {
            const { socket, received } = await rawClient()
            const topic = `drip/${cut === "bytes" ? "a" : "b"}`
            const bytes = Buffer.concat([
                connectPacket(`drip-${cut === "bytes" ? "a" : "b"}`),
                subscribePacket(1, [[topic, 0]]),
                publishPacket(topic, '{"light": 42}'),
            ])
            if (cut === "one write") socket.write(bytes)
            else
                for (const byte of bytes) {
                    socket.write(Buffer.from([byte]))
                    await new Promise(resolve => setImmediate(resolve)) // each byte its own read
                }
            await until(`${cut}: the broker to send the publication back`, () =>
                received.some(([type]) => type === PACKET.PUBLISH)
            )
            expect(
                received.map(([type]) => type),
                cut
            ).toEqual([PACKET.CONNACK, PACKET.SUBACK, PACKET.PUBLISH])
            const [, body] = received[2]
            expect(String(parsePublish(PACKET.PUBLISH << 4, body).payload), cut).toBe('{"light": 42}')
            socket.destroy()
        }
    })

    test("a malformed packet closes its own connection; another client is still served", async () => {
        const good = await connectClient(broker.url, { clientId: "still-served" })
        try {
            const inbox = await Inbox.open(good, "hall/telemetry")
            const { socket } = await rawClient()
            socket.write(connectPacket("malformed"))
            // A SUBSCRIBE with reserved flags 0000 instead of 0010 (MQTT-3.8.1-1): the parser refuses it.
            socket.write(Buffer.from([PACKET.SUBSCRIBE << 4, 6, 0, 1, 0, 1, 0x61, 0]))
            await within(3000, "the broker to close the malformed connection", once(socket, "close"))
            good.publish("hall/telemetry", '{"light": 7}')
            expect((await inbox.next()).payload).toBe('{"light": 7}')
        } finally {
            await closeClient(good)
        }
    })
})
