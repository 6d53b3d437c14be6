/**
 * The cap on MQTT packet sizes: the guard follows packet boundaries over any chunking, and the real
 * broker closes a client that announces a packet over the cap before it arrives, while other clients
 * are served.
 */
import { connect as netConnect } from "node:net"
import { once } from "node:events"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { MAX_PACKET_BYTES, PacketSizeGuard } from "../../../server/mqtt/packet-size-guard"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, within } from "../../helpers/mqtt"
import { remainingLength } from "../../helpers/raw-mqtt"

/** A fixed header: the type byte, then the remaining length. */
const header = (type: number, length: number) => Buffer.concat([Buffer.from([type]), remainingLength(length)])

describe("PacketSizeGuard", () => {
    test("packets up to the cap pass, however the bytes are cut into chunks", () => {
        const stream = Buffer.concat([
            header(0x30, 5),
            Buffer.alloc(5),
            header(0x30, MAX_PACKET_BYTES),
            Buffer.alloc(MAX_PACKET_BYTES),
            header(0xc0, 0), // PINGREQ: no body
            header(0x30, 200),
            Buffer.alloc(200),
        ])
        for (const size of [1, 2, 3, 7, 1000, stream.length]) {
            const guard = new PacketSizeGuard()
            for (let i = 0; i < stream.length; i += size)
                expect(guard.feed(stream.subarray(i, i + size))).toBeUndefined()
        }
    })

    test("a packet that announces more than the cap is refused at its header, even split over chunks", () => {
        const guard = new PacketSizeGuard(1000)
        expect(guard.feed(Buffer.concat([header(0x30, 10), Buffer.alloc(10)]))).toBeUndefined()
        const big = header(0x30, 268_435_455) // the largest length MQTT can say: 256 MB
        expect(guard.feed(big.subarray(0, 2))).toBeUndefined()
        expect(guard.feed(big.subarray(2))).toBe("a packet of 268435455 bytes (the limit is 1000)")
    })

    test("a length with a fifth byte is not MQTT", () => {
        expect(new PacketSizeGuard().feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(
            "a malformed packet length"
        )
    })
})

describe("the embedded broker with the guard", () => {
    let broker: EmbeddedBroker
    const { logger, lines } = recordingLogger("warn")
    beforeAll(async () => {
        broker = new EmbeddedBroker({ host: HOST, port: 0, logger })
        await broker.start()
    })
    afterAll(() => broker.stop())

    test("a client announcing a 256 MB packet is cut off at once; other clients carry on", async () => {
        const good = await connectClient(broker.url)
        try {
            const inbox = await Inbox.open(good, "hall/telemetry")
            const socket = netConnect(broker.port, HOST)
            await once(socket, "connect")
            socket.on("error", () => undefined)
            socket.write(header(0x10, 268_435_455)) // a CONNECT that never ends
            await within(3000, "the broker to close the connection", once(socket, "close"))
            expect(lines.join("")).toContain("it sent a packet of 268435455 bytes")
            good.publish("hall/telemetry", '{"light": 5}')
            expect((await inbox.next()).payload).toBe('{"light": 5}')
        } finally {
            await closeClient(good)
        }
    })
})
