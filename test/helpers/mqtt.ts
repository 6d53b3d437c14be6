/**
 * Test helpers for the server tests: real mqtt.js clients, an inbox that waits on messages (no sleeps),
 * bounded waits, and a logger that records its lines.
 */
import { once } from "node:events"
import type { EventEmitter } from "node:events"
import { createServer } from "node:net"
import { connect, type IClientOptions, type MqttClient } from "mqtt"
import { createLogger, type Logger } from "../../server/util/logger"
import { topicMatches } from "../../server/mqtt/message-bus"

export const HOST = "127.0.0.1"

/** A port that was free a moment ago (for servers that cannot bind port 0 themselves). */
export async function freePort(): Promise<number> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(0, HOST, resolve)
    })
    const address = server.address()
    await new Promise<void>(resolve => server.close(() => resolve()))
    if (typeof address !== "object" || !address) throw new Error("no port")
    return address.port
}

/** Rejects with a message naming what we waited for, instead of hanging until the test timeout. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    })
    try {
        return await Promise.race([promise, timeout])
    } finally {
        clearTimeout(timer)
    }
}

/** Polls `condition` every 50 ms until it holds; rejects after `ms`, naming what it waited for. */
export async function until(what: string, condition: () => boolean, ms = 5000): Promise<void> {
    await within(
        ms,
        what,
        (async () => {
            while (!condition()) await new Promise(r => setTimeout(r, 50))
        })()
    )
}

/** The next `event` from `emitter`, within `ms`. */
export function nextEvent<T = unknown>(emitter: EventEmitter, event: string, ms = 5000): Promise<T> {
    return within(ms, `event "${event}"`, once(emitter, event)).then(args => args[0] as T)
}

/** A connected test client. Fails fast by default; pass reconnectPeriod for outage tests. */
export async function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
    const client = connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
    let lastError: Error | undefined
    client.on("error", err => (lastError = err)) // reported by the wait below, not as an unhandled event
    try {
        await within(
            6000,
            `an MQTT connection to ${url}`,
            new Promise<void>((resolve, reject) => {
                client.once("connect", () => resolve())
                if (!options.reconnectPeriod)
                    client.once("close", () => reject(lastError ?? new Error(`connection to ${url} closed`)))
            })
        )
    } catch (error) {
        client.end(true)
        throw error
    }
    return client
}

export async function closeClient(client: MqttClient | undefined): Promise<void> {
    if (client) await within(3000, "the test client to close", client.endAsync(true))
}

export interface Message {
    topic: string
    payload: string
    retain: boolean
    qos: number
}

/** Messages matching one filter, in arrival order; next() waits for the next one. */
export class Inbox {
    private readonly queue: Message[] = []
    private readonly waiters: ((message: Message) => void)[] = []

    private constructor(
        private readonly client: MqttClient,
        private readonly filter: string
    ) {
        client.on("message", (topic, payload, packet) => {
            if (!topicMatches(filter, topic)) return
            const message = { topic, payload: payload.toString("utf8"), retain: packet.retain, qos: packet.qos }
            const waiter = this.waiters.shift()
            if (waiter) waiter(message)
            else this.queue.push(message)
        })
    }

    /** Subscribes `client` to `filter` and resolves once the broker acknowledged it. */
    static async open(client: MqttClient, filter: string): Promise<Inbox> {
        const inbox = new Inbox(client, filter)
        await within(5000, `the subscription to ${filter}`, client.subscribeAsync(filter, { qos: 0 }))
        return inbox
    }

    /** Subscribes again, e.g. after the broker restarted (the test clients use clean sessions). */
    async resubscribe(): Promise<void> {
        await within(5000, `the subscription to ${this.filter}`, this.client.subscribeAsync(this.filter, { qos: 0 }))
    }

    next(ms = 5000): Promise<Message> {
        const queued = this.queue.shift()
        if (queued) return Promise.resolve(queued)
        return within(
            ms,
            `a message on ${this.filter}`,
            new Promise<Message>(resolve => this.waiters.push(resolve))
        ).catch(error => {
            this.waiters.length = 0
            throw error
        })
    }

    async nextJson(ms = 5000): Promise<{ topic: string; json: unknown }> {
        const message = await this.next(ms)
        return { topic: message.topic, json: JSON.parse(message.payload) }
    }

    get pending(): number {
        return this.queue.length
    }
}

/** A logger at `level` whose text lines are kept in `lines`, for asserting on what a user would read. */
export function recordingLogger(level: "info" | "debug" | "warn" | "silent" = "info"): {
    logger: Logger
    lines: string[]
} {
    const lines: string[] = []
    const logger = createLogger({ level, colorize: false, destination: { write: (text: string) => lines.push(text) } })
    return { logger, lines }
}
