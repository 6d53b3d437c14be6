/**
 * A device at protocol level for tests with many of them: the firmware's reliable link (README "Wire
 * protocol") over a real mqtt.js client: an outbox resent until acknowledged, commands applied only when
 * newer. It reports only when a test says, except that, like the firmware, a LED switched against its
 * light makes it report that light at once and every REPORT_INTERVAL_MS while they disagree. What it
 * sent, what was acknowledged and every resend are kept for the test to check.
 */
import { randomBytes } from "node:crypto"
import type { MqttClient } from "mqtt"
import { connectClient } from "./mqtt"
import { RESEND_MIN_MS } from "../../src/link-state"

/** The firmware's shortest gap between two reports (ms; DEFAULT_REPORT_POLICY.minGapMs). */
const REPORT_GAP_MS = 200
/** The firmware's report interval (ms; DEFAULT_REPORT_POLICY.intervalMs). */
const REPORT_INTERVAL_MS = 2000

export interface DeviceReading {
    seq: number
    t: number
    light: number
    led: boolean
}

export interface ReliableDeviceOptions {
    /** ms without an ack that moved the outbox before unacknowledged readings go again (default the firmware's). */
    resendMs?: number
}

export class ReliableDevice {
    readonly boot = randomBytes(4).toString("hex")
    private readonly startedAt = Date.now()
    private client?: MqttClient
    private seq = 0
    private lastT = -1
    /** Readings not acknowledged yet, oldest first. */
    readonly outbox: DeviceReading[] = []
    /** Every reading taken, by seq. */
    readonly taken = new Map<number, DeviceReading>()
    led = false
    private commandSeq = 0
    commands = 0
    acked = 0
    resends = 0
    private progressAt = Date.now()
    private lastReportAt = 0
    private reportTimer?: NodeJS.Timeout
    private resendTimer?: NodeJS.Timeout
    private readonly resendMs: number

    constructor(
        readonly id: string,
        options: ReliableDeviceOptions = {}
    ) {
        this.resendMs = options.resendMs ?? RESEND_MIN_MS
    }

    get connected(): boolean {
        return this.client?.connected === true
    }

    /** Connects as the firmware does (its client id, a retained "offline" will) and sends what waits. */
    async connect(url: string): Promise<void> {
        const client = await connectClient(url, {
            clientId: `${this.id}nightlight_client`,
            will: { topic: `${this.id}/status`, payload: Buffer.from("offline"), qos: 1, retain: true },
        })
        ;(client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
        this.client = client
        client.on("message", (topic, payload) => this.onMessage(topic, payload.toString()))
        await client.subscribeAsync({ [`${this.id}/commands`]: { qos: 1 }, [`${this.id}/acks`]: { qos: 0 } })
        await client.publishAsync(`${this.id}/status`, "online", { qos: 1, retain: true })
        this.progressAt = Date.now()
        this.resendTimer ??= setInterval(() => this.resendIfDue(), 250)
        for (const r of this.outbox) this.send(r)
    }

    /** Drops the connection without a word, as a device losing its network would. */
    async disconnect(): Promise<void> {
        const client = this.client
        this.client = undefined
        await client?.endAsync(true)
    }

    async close(): Promise<void> {
        clearInterval(this.resendTimer)
        clearTimeout(this.reportTimer)
        this.resendTimer = this.reportTimer = undefined
        await this.disconnect()
    }

    /** Takes a reading now; sends it when connected (else it waits in the outbox). */
    read(light: number): DeviceReading {
        // uptime in ms, never twice the same: the server keys its history by a reading's time
        const t = Math.max(Date.now() - this.startedAt, this.lastT + 1)
        this.lastT = t
        const reading = { seq: ++this.seq, t, light, led: this.led }
        this.lastReportAt = Date.now()
        this.outbox.push(reading)
        this.taken.set(reading.seq, reading)
        if (this.connected) this.send(reading)
        return reading
    }

    /** The highest seq taken. */
    get lastSeq(): number {
        return this.seq
    }

    private send(r: DeviceReading): void {
        const payload = {
            light: r.light,
            seq: r.seq,
            boot: this.boot,
            t: r.t,
            oldest: this.outbox[0]?.seq ?? r.seq,
            led: r.led,
        }
        this.client?.publish(`${this.id}/telemetry`, JSON.stringify(payload))
    }

    /**
     * The firmware's report policy, for a LED that disagrees with the light: the light goes at once, but
     * not sooner than REPORT_GAP_MS after the last report (commands of a replay may still be coming),
     * then again every REPORT_INTERVAL_MS while they disagree. A server repeats a decision the device
     * does not show at most every 2 s (MISMATCH_RESEND_MS): a report sooner than that may change nothing.
     */
    private reportIfDisagrees(gapMs = REPORT_GAP_MS): void {
        clearTimeout(this.reportTimer) // a command since: the short gap again
        const wait = Math.max(0, this.lastReportAt + gapMs - Date.now())
        this.reportTimer = setTimeout(() => {
            this.reportTimer = undefined
            const light = this.taken.get(this.seq)?.light
            if (light === undefined || light < 300 === this.led || !this.resendTimer || !this.connected) return
            this.read(light)
            this.reportIfDisagrees(REPORT_INTERVAL_MS)
        }, wait)
    }

    private resendIfDue(): void {
        if (!this.connected || this.outbox.length === 0 || Date.now() - this.progressAt < this.resendMs) return
        this.resends++
        this.progressAt = Date.now()
        for (const r of this.outbox) this.send(r)
    }

    private onMessage(topic: string, text: string): void {
        let json: Record<string, unknown>
        try {
            json = JSON.parse(text) as Record<string, unknown>
        } catch {
            return
        }
        if (topic.endsWith("/acks")) {
            if (json.boot !== this.boot || typeof json.seq !== "number") return
            const before = this.outbox.length
            while (this.outbox.length > 0 && this.outbox[0].seq <= json.seq) this.outbox.shift()
            this.acked = Math.max(this.acked, json.seq)
            if (this.outbox.length < before) this.progressAt = Date.now()
        } else if (typeof json.led_on === "boolean") {
            const seq = typeof json.seq === "number" ? json.seq : 0
            if (seq !== 0 && seq <= this.commandSeq) return
            this.commandSeq = seq
            this.led = json.led_on
            this.commands++
            this.reportIfDisagrees()
        }
    }
}
