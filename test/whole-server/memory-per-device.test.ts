/**
 * What one more connected device costs the server's memory, the figure the README gives for sizing a
 * fleet: devices connect as the firmware does (their own client id, their commands and acks subscribed,
 * readings with `seq`), each is answered, and the server's heap is read after a full collection
 * (memory-probe.mjs), before and after. Its RSS follows the heap at several times the figure (V8 sizes
 * its heap by what is live), which is why the heap is what is held to a bound here.
 */
import { once } from "node:events"
import { connect as netConnect, type Socket } from "node:net"
import { afterEach, expect, test } from "vitest"
import {
    PACKET,
    connectPacket,
    packetReader,
    parsePublish,
    pubackPacket,
    publishPacket,
    subscribePacket,
} from "../../server/mqtt/mqtt-wire"
import { HOST, until } from "../helpers/mqtt"
import { MEMORY_PROBE_ARGS, ServerProcess } from "../helpers/server-process"

/** The README's bound ("Many lights", Memory): live heap per connected device, in KB. */
const HEAP_KB_PER_DEVICE = 11.5
const DEVICES = 2000
const KB = 1024

interface Device {
    id: string
    socket: Socket
    seq: number
    /** The highest `seq` acknowledged, and the last `led_on` commanded. */
    acked: number
    ledOn: boolean | undefined
}

let server: ServerProcess | undefined
const sockets: Socket[] = []
afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy()
    await server?.stop()
    server?.cleanup()
    server = undefined
})

async function connectDevice(port: number, id: string): Promise<Device> {
    const socket = netConnect(port, HOST)
    sockets.push(socket)
    socket.setNoDelay(true)
    const device: Device = { id, socket, seq: 0, acked: 0, ledOn: undefined }
    socket.on(
        "data",
        packetReader((first, body) => {
            if (first >> 4 !== PACKET.PUBLISH) return
            const publish = parsePublish(first, body)
            if (publish.qos === 1) socket.write(pubackPacket(publish.packetId))
            const message = JSON.parse(String(publish.payload)) as { seq?: number; led_on?: boolean }
            if (publish.topic === `${id}/acks` && typeof message.seq === "number") device.acked = message.seq
            if (publish.topic === `${id}/commands`) device.ledOn = message.led_on
        })
    )
    await once(socket, "connect")
    socket.write(
        Buffer.concat([
            connectPacket(id),
            subscribePacket(1, [
                [`${id}/commands`, 1],
                [`${id}/acks`, 0],
            ]),
        ])
    )
    return device
}

function sendReading(device: Device, light: number): void {
    device.seq++
    const reading = {
        light,
        seq: device.seq,
        boot: "b1",
        oldest: device.acked + 1,
        led: false,
        local: false,
        dropped: 0,
    }
    device.socket.write(publishPacket(`${device.id}/telemetry`, JSON.stringify(reading)))
}

async function connectFleet(port: number, count: number, prefix: string): Promise<Device[]> {
    const devices: Device[] = []
    for (let i = 0; i < count; i += 100) {
        const batch = Array.from({ length: Math.min(100, count - i) }, (_, k) => `${prefix}-${i + k}`)
        devices.push(...(await Promise.all(batch.map(id => connectDevice(port, id)))))
    }
    return devices
}

test(`each connected device holds at most ${HEAP_KB_PER_DEVICE} KB of the server's heap`, async () => {
    server = new ServerProcess(["--mqtt-port", "0", "--no-sim"], { nodeArgs: MEMORY_PROBE_ARGS })
    server.start()
    const [, port] = await server.waitFor(/MQTT broker listening on mqtt:\/\/127\.0\.0\.1:(\d+)/)

    // A few devices first, so what the first one alone sets up (tables, caches, code) is in the baseline.
    const warm = await connectFleet(Number(port), 20, "warm")
    for (const device of warm) sendReading(device, 120)
    await until("the warm-up devices to be answered", () => warm.every(d => d.acked === 1 && d.ledOn === true), 20_000)
    const before = await server.memory()

    const fleet = await connectFleet(Number(port), DEVICES, "lamp")
    // Two readings each, the second across the threshold: each device has its state, its link, its
    // stored row and a command and an ack retained.
    for (const light of [900, 120]) {
        for (const device of fleet) sendReading(device, light)
        await until(
            `every device's reading ${fleet[0].seq} to be acknowledged and commanded`,
            () => fleet.every(d => d.acked === d.seq && d.ledOn === light < 300),
            30_000
        )
    }
    const after = await server.memory()

    const heap = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external
    const perDevice = (heap(after) - heap(before)) / DEVICES
    console.log(
        `${DEVICES} devices: server heap ${(heap(before) / KB / KB).toFixed(1)} -> ${(heap(after) / KB / KB).toFixed(1)} MiB ` +
            `(${(perDevice / KB).toFixed(2)} KB each), RSS ${(before.rss / KB / KB).toFixed(0)} -> ${(after.rss / KB / KB).toFixed(0)} MiB`
    )
    expect(perDevice / KB).toBeLessThanOrEqual(HEAP_KB_PER_DEVICE)
}, 120_000)
