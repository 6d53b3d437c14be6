/**
 * The load generator: N simulated devices, each an MQTT connection of its own (raw-client.ts: clean session,
 * Nagle off),
 * publishing telemetry in our firmware's format, each on `<id>/telemetry`, listening on `<id>/commands`
 * and `<id>/acks`. Every 10th reading of a device crosses the threshold (900 ↔ 100), so a command is due;
 * the time from that reading to the command with the new `led_on` is the latency we measure. After a
 * step, `lostSince` and `wrongLeds` tell whether anything was lost: every reading confirmed, every LED
 * where the last reading puts it.
 */
import { randomBytes } from "node:crypto"
import { RawClient } from "./raw-client"

const DARK = 100
const BRIGHT = 900
/** the lesson's rule (ours adds a band above it, which 100 and 900 are far from) */
const THRESHOLD = 300
const CONNECT_BATCH = 100
const CONNECT_TIMEOUT_MS = 15_000

/**
 * What confirms a reading: our acks (the highest acknowledged `seq`), the lesson's commands (one per
 * reading), or, for the relay baselines, the count of the subscriber on `+/telemetry` (not the fleet's).
 */
export type ConfirmedBy = "acks" | "commands" | "relayed"

interface Device {
    id: string
    client: RawClient
    seq: number
    led: boolean
    ackSeq: number
    commands: number
    lastLight: number
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
    /** While warming up every reading settles those before it (`oldest` = `seq`): none is waited for. */
    private warming = false
    /** The next device publishNext() sends from: round-robin across steps, so every device takes turns. */
    private cursor = 0

    constructor(
        readonly url: string,
        readonly count: number,
        readonly prefix: string,
        readonly confirmedBy: ConfirmedBy
    ) {}

    /** Connects every device, CONNECT_BATCH at a time; `progress` hears the count now and then. */
    async connect(progress?: (connected: number) => void): Promise<void> {
        for (let start = 0; start < this.count; start += CONNECT_BATCH) {
            const batch: Promise<Device>[] = []
            for (let i = start; i < Math.min(this.count, start + CONNECT_BATCH); i++)
                batch.push(this.connectOne(`${this.prefix}-${i}`))
            this.devices.push(...(await Promise.all(batch)))
            if (this.devices.length % 2000 === 0) progress?.(this.devices.length)
        }
    }

    private async connectOne(id: string): Promise<Device> {
        const { hostname, port } = new URL(this.url)
        const client = await RawClient.connect(hostname, Number(port), `${id}nightlight_client`, CONNECT_TIMEOUT_MS)
        const device: Device = {
            id,
            client,
            seq: 0,
            led: false,
            ackSeq: 0,
            commands: 0,
            lastLight: BRIGHT,
            phase: Number(id.split("-").pop()) % 10,
        }
        client.on("message", (topic, payload) => this.onMessage(device, topic, payload))
        await client.subscribe([
            [`${id}/commands`, 1],
            [`${id}/acks`, 0],
        ])
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

    /** The next device's reading, round-robin over the fleet. */
    publishNext(): void {
        this.publish(this.devices[this.cursor])
        this.cursor = (this.cursor + 1) % this.devices.length
    }

    publish(device: Device): void {
        const seq = ++device.seq
        const light = Math.floor((seq + device.phase) / 10) % 2 === 0 ? BRIGHT : DARK
        device.lastLight = light
        // the relays answer nothing: no crossing waits for a command there
        if (seq > 1 && (seq + device.phase) % 10 === 0 && this.confirmedBy !== "relayed") {
            if (device.pendingSince !== undefined && this.recording) this.missed++
            device.pendingSince = performance.now()
            device.pendingLed = light < THRESHOLD
        }
        const reading: Record<string, unknown> = {
            light,
            seq,
            boot: this.boot,
            // as the firmware: the oldest reading it still holds, i.e. the first not acknowledged, so our
            // server acks nothing past a reading that went missing (and the loss shows after the step)
            oldest: this.confirmedBy === "acks" && !this.warming ? device.ackSeq + 1 : seq,
            t: Math.round(performance.now()),
            led: device.led,
            local: false,
            dropped: 0,
        }
        // absolute ms, for the relay's subscriber (another process) to time the delivery
        if (this.confirmedBy === "relayed") reading.sentAt = performance.timeOrigin + performance.now()
        device.client.publish(`${device.id}/telemetry`, JSON.stringify(reading))
    }

    /**
     * One reading from every device, until each has its first command (bounded); returns how many did.
     * The relays send no commands: there the caller waits for its subscriber's count instead.
     */
    async warmUp(ms = 30_000): Promise<number> {
        this.warming = true
        try {
            if (this.confirmedBy === "relayed") {
                for (const device of this.devices) this.publish(device)
                return this.devices.length
            }
            const deadline = Date.now() + ms
            const first = this.devices[0]
            // the server may still be subscribing: retry the first device until it is answered
            while (first.commands === 0 && Date.now() < deadline) {
                this.publish(first)
                await sleep(250)
            }
            for (const device of this.devices.slice(1)) this.publish(device)
            while (this.devices.some(d => d.commands === 0) && Date.now() < deadline) await sleep(50)
            // and the confirmations done, so the first step starts from nothing on the way (the first
            // device's retries may stay unanswered for good: wait until the count stops moving)
            for (let last = -1; this.outstanding() !== last && Date.now() < deadline; await sleep(300))
                last = this.outstanding()
            return this.devices.filter(d => d.commands > 0).length
        } finally {
            this.warming = false
        }
    }

    /** Starts a step's latency record: nothing pending from before. */
    startRecording(): void {
        for (const device of this.devices) device.pendingSince = undefined
        this.latencies = []
        this.missed = 0
        this.recording = true
    }

    pendingCount(): number {
        let n = 0
        for (const device of this.devices) if (device.pendingSince !== undefined) n++
        return n
    }

    /** Readings sent by the whole fleet so far. */
    sent(): number {
        let sum = 0
        for (const device of this.devices) sum += device.seq
        return sum
    }

    /** Readings of `device` confirmed so far: by acks (highest acknowledged seq) or commands (one per reading). */
    private confirmedOf(device: Device): number {
        return this.confirmedBy === "acks" ? device.ackSeq : this.confirmedBy === "commands" ? device.commands : 0
    }

    /** Every device's last `seq`: where a step's readings start, or end. */
    seqs(): Int32Array {
        return Int32Array.from(this.devices, d => d.seq)
    }

    /**
     * Readings sent after `from` and up to `to` (seqs() then) that are confirmed by now: a step's own
     * readings, however late their confirmation came, and none of the readings before it. Not for
     * "relayed" (the subscriber counts those).
     */
    confirmedBetween(from: Int32Array, to: Int32Array): number {
        let sum = 0
        for (let i = 0; i < this.devices.length; i++)
            sum += Math.max(0, Math.min(this.confirmedOf(this.devices[i]), to[i]) - from[i])
        return sum
    }

    /** Per device: readings sent and not (yet) confirmed. Not for "relayed" (the subscriber counts those). */
    deficits(): Int32Array {
        return Int32Array.from(this.devices, d => Math.max(0, d.seq - this.confirmedOf(d)))
    }

    /** Readings sent and not confirmed, over the fleet. */
    outstanding(): number {
        if (this.confirmedBy === "relayed") return 0
        let sum = 0
        for (const device of this.devices) sum += Math.max(0, device.seq - this.confirmedOf(device))
        return sum
    }

    /** Readings left unconfirmed since `before` (deficits() then), and on how many devices. */
    lostSince(before: Int32Array): { readings: number; devices: number } {
        const now = this.deficits()
        let readings = 0
        let devices = 0
        for (let i = 0; i < now.length; i++)
            if (now[i] > (before[i] ?? 0)) {
                readings += now[i] - (before[i] ?? 0)
                devices++
            }
        return { readings, devices }
    }

    /** Devices whose LED (as the last command set it) is not what the last reading they sent calls for. */
    wrongLeds(): number {
        let n = 0
        for (const device of this.devices) if (device.seq > 0 && device.led !== device.lastLight < THRESHOLD) n++
        return n
    }

    async close(): Promise<void> {
        await Promise.all(this.devices.map(d => Promise.race([d.client.end(), sleep(3000)])))
        this.devices.length = 0
    }

    /** For Ctrl-C: drop every connection at once. */
    destroy(): void {
        for (const device of this.devices) void device.client.end()
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms))
}
