/**
 * The load generator: N simulated devices as real mqtt.js clients (one connection each, clean session),
 * publishing telemetry in our firmware's format, each on `<id>/telemetry`, listening on `<id>/commands`
 * and `<id>/acks`. Every 10th reading of a device crosses the threshold (900 ↔ 100), so a command is due;
 * the time from that reading to the command with the new `led_on` is the latency we measure.
 */
import { randomBytes } from "node:crypto"
import { connect, type MqttClient } from "mqtt"

const DARK = 100
const BRIGHT = 900
const CONNECT_BATCH = 50
const CONNECT_TIMEOUT_MS = 15_000

interface Device {
    id: string
    client: MqttClient
    seq: number
    led: boolean
    ackSeq: number
    commands: number
    /** 0..9: where in its 10-reading cycle the device starts, so crossings are spread over time */
    phase: number
    /** The pending crossing: when its reading was sent, and the `led_on` it calls for. */
    pendingSince?: number
    pendingLed?: boolean
}

export class Fleet {
    readonly devices: Device[] = []
    readonly boot = randomBytes(4).toString("hex")
    /** reading → command latencies (ms) recorded while `recording`. */
    latencies: number[] = []
    recording = false
    commands = 0
    /** crossings superseded by the next one before their command came */
    missed = 0

    constructor(
        readonly url: string,
        readonly count: number,
        readonly prefix: string
    ) {}

    async connect(): Promise<void> {
        for (let start = 0; start < this.count; start += CONNECT_BATCH) {
            const batch: Promise<Device>[] = []
            for (let i = start; i < Math.min(this.count, start + CONNECT_BATCH); i++)
                batch.push(this.connectOne(`${this.prefix}-${i}`))
            this.devices.push(...(await Promise.all(batch)))
        }
    }

    private async connectOne(id: string): Promise<Device> {
        const client = connect(this.url, {
            clientId: `${id}nightlight_client`,
            clean: true,
            reconnectPeriod: 0,
            connectTimeout: CONNECT_TIMEOUT_MS,
        })
        const device: Device = {
            id,
            client,
            seq: 0,
            led: false,
            ackSeq: 0,
            commands: 0,
            phase: Number(id.split("-").pop()) % 10,
        }
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
                () => reject(new Error(`${id}: no connection in ${CONNECT_TIMEOUT_MS} ms`)),
                CONNECT_TIMEOUT_MS
            )
            client.once("connect", () => (clearTimeout(timer), resolve()))
            client.once("error", error => (clearTimeout(timer), reject(error)))
            client.once("close", () => (clearTimeout(timer), reject(new Error(`${id}: connection closed`))))
        })
        client.on("error", () => undefined) // counted as missing answers, not thrown
        const stream = client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined
        stream?.setNoDelay?.(true)
        client.on("message", (topic, payload) => this.onMessage(device, topic, payload))
        await client.subscribeAsync({ [`${id}/commands`]: { qos: 1 }, [`${id}/acks`]: { qos: 0 } })
        return device
    }

    private onMessage(device: Device, topic: string, payload: Buffer): void {
        let message: { led_on?: unknown; seq?: unknown }
        try {
            message = JSON.parse(payload.toString())
        } catch {
            return
        }
        if (topic.endsWith("/acks")) {
            if (typeof message.seq === "number" && message.seq > device.ackSeq) device.ackSeq = message.seq
            return
        }
        if (typeof message.led_on !== "boolean") return
        device.commands++
        this.commands++
        device.led = message.led_on
        if (device.pendingSince !== undefined && device.pendingLed === message.led_on) {
            if (this.recording) this.latencies.push(performance.now() - device.pendingSince)
            device.pendingSince = undefined
        }
    }

    publish(device: Device): void {
        const seq = ++device.seq
        const light = Math.floor((seq + device.phase) / 10) % 2 === 0 ? BRIGHT : DARK
        if (seq > 1 && (seq + device.phase) % 10 === 0) {
            if (device.pendingSince !== undefined && this.recording) this.missed++
            device.pendingSince = performance.now()
            device.pendingLed = light < 300
        }
        const reading = {
            light,
            seq,
            boot: this.boot,
            oldest: seq,
            t: Math.round(performance.now()),
            led: device.led,
            local: false,
            dropped: 0,
        }
        device.client.publish(`${device.id}/telemetry`, JSON.stringify(reading), { qos: 0 })
    }

    /** One reading from every device, until each has its first command (bounded); returns how many did. */
    async warmUp(ms = 20_000): Promise<number> {
        const deadline = Date.now() + ms
        const first = this.devices[0]
        // the server may still be subscribing: retry the first device until it is answered
        while (first.commands === 0 && Date.now() < deadline) {
            this.publish(first)
            await sleep(250)
        }
        for (const device of this.devices.slice(1)) this.publish(device)
        while (this.devices.some(d => d.commands === 0) && Date.now() < deadline) await sleep(50)
        return this.devices.filter(d => d.commands > 0).length
    }

    clearPending(): void {
        for (const device of this.devices) device.pendingSince = undefined
    }

    pendingCount(): number {
        return this.devices.filter(d => d.pendingSince !== undefined).length
    }

    /** Readings the server confirmed: by acks (highest acknowledged seq) or by commands (one per reading). */
    confirmed(by: "acks" | "commands"): number {
        let sum = 0
        for (const device of this.devices) sum += by === "acks" ? device.ackSeq : device.commands
        return sum
    }

    async close(): Promise<void> {
        await Promise.all(
            this.devices.map(d => Promise.race([d.client.endAsync(true).catch(() => undefined), sleep(3000)]))
        )
        this.devices.length = 0
    }

    /** For Ctrl-C: drop every connection at once. */
    destroy(): void {
        for (const device of this.devices) device.client.end(true)
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms))
}
