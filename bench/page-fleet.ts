/**
 * The page bench's fleet: N device ids published by a few shared MQTT connections (anonymous loopback
 * clients may publish for any id; the broker's rate limit is per connection, 100/s after a burst of
 * 1000, so each connection carries at most PAGE_FLEET.perConnectionPerS), plus a probe device on a
 * connection of its own whose light takes a new value every PAGE_FLEET.probeEveryMs. Readings are in
 * the firmware's format; nothing here waits for acks or commands.
 */
import { randomBytes } from "node:crypto"
import { sleep } from "./load"
import { RawClient } from "./raw-client"

export const PAGE_FLEET = {
    /** readings/s one shared connection carries at most (the broker allows 100/s per client after its burst) */
    perConnectionPerS: 50,
    /** first readings one shared connection sends at once (half the broker's burst of 1000) */
    registerPerConnection: 500,
    /** the most shared connections (a rate of 50,000/s) */
    maxConnections: 1000,
    /** connections opened at once */
    connectBatch: 50,
    connectTimeoutMs: 15_000,
    /** the probe's light changes this often (ms) */
    probeEveryMs: 250,
    /**
     * the probe's light values: probeLow .. probeLow + probeValues - 1, each used once per run; like every
     * light here at or above the default threshold + band (400), so no LED is commanded on and the
     * devices' reported LED (off) agrees with the server's
     */
    probeLow: 400,
    probeValues: 600,
    /** the probe's first reading, outside its values */
    probeFirst: 1000,
    /** the generator publishes what is due, then sleeps this long (ms) */
    tickMs: 5,
    /** readings at most per tick, so a late timer does not turn into one huge burst */
    maxBurst: 2000,
}

/** The probe's id sorts before every other device's (ids are zero-padded, "-0" first). */
export function deviceIds(count: number, prefix: string): string[] {
    const width = String(Math.max(0, count - 1)).length
    return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(width, "0")}`)
}

/** A probe value sent: which light, when (ms, Date.now clock). */
export interface ProbeSent {
    value: number
    at: number
}

export class PageFleet {
    readonly ids: string[]
    readonly probe: string
    private readonly boot = randomBytes(4).toString("hex")
    private readonly seqs: Int32Array
    private readonly clients: RawClient[] = []
    private probeClient?: RawClient
    private cursor = 1
    private probeCount = 0

    constructor(
        private readonly url: string,
        count: number,
        prefix: string,
        private readonly connections: number
    ) {
        this.ids = deviceIds(count, prefix)
        this.probe = this.ids[0]
        this.seqs = new Int32Array(count)
    }

    /**
     * Connections needed for `rate` readings/s within the broker's per-client limit, and for the
     * registration (one reading per device at once) within half of each connection's burst.
     */
    static connectionsFor(rate: number, devices: number): number {
        const needed = Math.max(
            Math.ceil(rate / PAGE_FLEET.perConnectionPerS),
            Math.ceil(devices / PAGE_FLEET.registerPerConnection)
        )
        return Math.max(1, Math.min(needed, devices, PAGE_FLEET.maxConnections))
    }

    async connect(): Promise<void> {
        const { hostname, port } = new URL(this.url)
        const open = (clientId: string) =>
            RawClient.connect(hostname, Number(port), clientId, PAGE_FLEET.connectTimeoutMs)
        this.probeClient = await open(`${this.probe}-probe`)
        for (let start = 0; start < this.connections; start += PAGE_FLEET.connectBatch) {
            const batch: Promise<RawClient>[] = []
            for (let i = start; i < Math.min(this.connections, start + PAGE_FLEET.connectBatch); i++)
                batch.push(open(`pagebench-${this.boot}-${i}`))
            this.clients.push(...(await Promise.all(batch)))
        }
    }

    /** One reading from every device (the probe's light outside its values). */
    register(): void {
        this.publish(0, PAGE_FLEET.probeFirst)
        for (let i = 1; i < this.ids.length; i++) this.publishNext()
    }

    /** The next device's reading (not the probe's), round-robin; its light moves each time. */
    publishNext(): void {
        if (this.ids.length > 1) {
            this.publish(this.cursor, 400 + ((this.seqs[this.cursor] * 97 + this.cursor) % 600))
            this.cursor = this.cursor + 1 >= this.ids.length ? 1 : this.cursor + 1
        }
    }

    /** The probe's next light value; undefined once every value has been used (the run is too long). */
    publishProbe(): ProbeSent | undefined {
        if (this.probeCount >= PAGE_FLEET.probeValues) return undefined
        const value = PAGE_FLEET.probeLow + this.probeCount++
        this.publish(0, value)
        return { value, at: Date.now() }
    }

    /**
     * `rate` readings/s over the other devices for `seconds`, and the probe's new value every
     * PAGE_FLEET.probeEveryMs; returns the probe values sent and the readings published.
     */
    async offer(rate: number, seconds: number): Promise<{ probe: ProbeSent[]; published: number }> {
        const probe: ProbeSent[] = []
        const start = performance.now()
        const end = start + seconds * 1000
        let published = 0
        let nextProbe = start
        for (let now = start; now < end; now = performance.now()) {
            if (now >= nextProbe) {
                const sent = this.publishProbe()
                if (sent) probe.push(sent)
                nextProbe += PAGE_FLEET.probeEveryMs
            }
            const due = Math.floor(((now - start) / 1000) * rate)
            for (let burst = 0; published < due && burst < PAGE_FLEET.maxBurst; burst++, published++) this.publishNext()
            await sleep(PAGE_FLEET.tickMs)
        }
        return { probe, published }
    }

    /** Device `index`'s next reading, in the firmware's format, on its shared connection (the probe's own). */
    private publish(index: number, light: number): void {
        const seq = ++this.seqs[index]
        const client = index === 0 ? this.probeClient! : this.clients[index % this.clients.length]
        const reading = {
            light,
            seq,
            boot: this.boot,
            oldest: seq, // nothing held back: no reading waits for an ack
            t: Math.round(performance.now()),
            led: false,
            local: false,
            dropped: 0,
        }
        client.publish(`${this.ids[index]}/telemetry`, JSON.stringify(reading))
    }

    async close(): Promise<void> {
        const all = [...this.clients, ...(this.probeClient ? [this.probeClient] : [])]
        await Promise.all(all.map(c => Promise.race([c.end(), sleep(3000)])))
        this.clients.length = 0
        this.probeClient = undefined
    }

    /** For Ctrl-C: drop every connection at once. */
    destroy(): void {
        for (const client of this.clients) void client.end()
        void this.probeClient?.end()
    }
}
