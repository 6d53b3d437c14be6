/**
 * The message bus over mqtt.js, for an external broker; never crashes on an unreachable one. A filter
 * another of ours covers is not sent: a broker may deliver once per matching subscription (Mosquitto
 * 2.0 to MQTT 5 clients), and each copy would be handled.
 */
import { randomBytes } from "node:crypto"
import { EventEmitter } from "node:events"
import { connect, type MqttClient } from "mqtt"
import { filterCovers } from "../auth/acl"
import type { Logger } from "../util/logger"
import { redactUrl } from "../config/settings"
import { TopicRoutes } from "./topic-routes"
import {
    callHandler,
    isValidTopicFilter,
    isValidTopicName,
    toBuffer,
    topicMatches,
    type MessageBus,
    type MessageHandler,
    type PublishOptions,
    type SubscribeOptions,
} from "./message-bus"

export const CLIENT_DEFAULTS = {
    /** ms between reconnection attempts (mqtt.js retries at a fixed period). */
    reconnectPeriodMs: 1000,
    /** ms to wait for CONNACK before giving up on an attempt. */
    connectTimeoutMs: 5000,
    /** s between PINGREQs; a dead connection is noticed within 1.5x this. */
    keepaliveS: 30,
    /** ms stop() waits for a graceful DISCONNECT before dropping the socket. */
    stopTimeoutMs: 2000,
}

export interface MqttClientBusOptions {
    url: string
    logger: Logger
    reconnectPeriodMs?: number
    connectTimeoutMs?: number
    /** Default `nightlight_server_<random>`: unique, so several servers never kick each other off. */
    clientId?: string
    /** The server's own login (rather than user:password@ in the URL, which `ps` shows). */
    username?: string
    password?: string
    /** CA certificates (PEM) to trust for an mqtts:// or wss:// broker with a private CA. */
    ca?: Buffer
    /** Several servers share the `shared` subscriptions under this name (MQTT 5); see isValidShareName. */
    shareGroup?: string
}

interface Subscription {
    filter: string
    /** What the broker is asked for: the filter, or `$share/<group>/<filter>`. */
    wire: string
    handler: MessageHandler
}

/**
 * A share name is one topic level without wildcards (MQTT 5.0 §4.8.2: "MUST NOT contain the
 * characters '/', '+' or '#'"); we also keep to printable ASCII so it reads the same in every log.
 */
export function isValidShareName(name: string): boolean {
    return /^[A-Za-z0-9_.:-]{1,64}$/.test(name)
}

/** Emits "online" once connected and subscribed again, "offline" when the connection is lost. */
export class MqttClientBus extends EventEmitter implements MessageBus {
    private readonly options: Required<
        Omit<MqttClientBusOptions, "logger" | "username" | "password" | "ca" | "shareGroup">
    > &
        Pick<MqttClientBusOptions, "username" | "password" | "ca" | "shareGroup">
    private readonly log: Logger
    private readonly subscriptions: Subscription[] = []
    /** topic → the subscriptions it matches, forgotten when one is added. */
    private readonly routes = new TopicRoutes(topic => this.subscriptions.filter(s => topicMatches(s.filter, topic)))
    private client?: MqttClient
    private connected = false
    private online = false
    /** One warning per outage, not one a second. */
    private outageReported = false
    private offlineSince?: number
    private lastError?: string

    constructor(options: MqttClientBusOptions) {
        super()
        this.options = {
            url: options.url,
            reconnectPeriodMs: options.reconnectPeriodMs ?? CLIENT_DEFAULTS.reconnectPeriodMs,
            connectTimeoutMs: options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs,
            clientId: options.clientId ?? `nightlight_server_${randomBytes(4).toString("hex")}`,
            username: options.username,
            password: options.password,
            ca: options.ca,
            shareGroup: options.shareGroup,
        }
        if (options.shareGroup !== undefined && !isValidShareName(options.shareGroup))
            throw new TypeError(`invalid share group ${JSON.stringify(options.shareGroup)}`)
        this.log = options.logger.child({ component: "mqtt" })
    }

    get isOnline(): boolean {
        return this.online
    }

    private get where(): string {
        return redactUrl(this.options.url)
    }

    /** Resolves when subscribed or after the first failed attempt; retries go on in the background. */
    async start(): Promise<void> {
        if (this.client) return
        const client = connect(this.options.url, {
            clientId: this.options.clientId,
            ...(this.options.username !== undefined ? { username: this.options.username } : {}),
            ...(this.options.password !== undefined ? { password: this.options.password } : {}),
            ...(this.options.ca !== undefined ? { ca: this.options.ca } : {}),
            // Shared subscriptions are MQTT 5's; without them we speak 3.1.1, which every broker knows.
            protocolVersion: this.options.shareGroup !== undefined ? 5 : 4,
            clean: true,
            reconnectPeriod: this.options.reconnectPeriodMs,
            connectTimeout: this.options.connectTimeoutMs,
            keepalive: CLIENT_DEFAULTS.keepaliveS,
            // We subscribe again ourselves on every connect, so we know when it is done ("online").
            resubscribe: false,
            // A command queued during an outage is stale by the time it is sent; newer readings bring
            // fresh commands, so drop rather than replay. (QoS 1 is refused in publish() and onClose().)
            queueQoSZero: false,
        })
        this.client = client
        this.offlineSince = Date.now()
        client.on("connect", () => void this.onConnect(client))
        client.on("message", (topic, payload) => this.dispatch(topic, payload))
        client.on("error", err => {
            this.lastError = err.message
            this.log.debug(`MQTT client error: ${err.message}`)
        })
        client.on("reconnect", () => this.log.debug(`reconnecting to ${this.where}`))
        client.on("close", () => this.onClose())

        await new Promise<void>(resolve => {
            const events = ["online", "attemptFailed", "stopped"]
            const done = () => {
                for (const event of events) this.off(event, done)
                resolve()
            }
            for (const event of events) this.on(event, done)
        })
    }

    async stop(): Promise<void> {
        const client = this.client
        this.client = undefined
        if (!client) return
        this.online = this.connected = false
        this.emit("stopped")
        let timer: NodeJS.Timeout | undefined
        const timeout = new Promise<"timeout">(resolve => {
            timer = setTimeout(() => resolve("timeout"), CLIENT_DEFAULTS.stopTimeoutMs)
        })
        const result = await Promise.race([client.endAsync().catch(() => "failed" as const), timeout])
        clearTimeout(timer)
        if (result !== undefined) await client.endAsync(true).catch(() => undefined)
        client.removeAllListeners()
        // mqtt.js may still emit a late socket error after end(); keep one listener so it cannot crash us.
        client.on("error", () => undefined)
    }

    async subscribe(filter: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<void> {
        if (!isValidTopicFilter(filter)) throw new TypeError(`invalid topic filter ${JSON.stringify(filter)}`)
        const group = this.options.shareGroup
        const wire = options.shared && group !== undefined ? `$share/${group}/${filter}` : filter
        const before = this.wireFilters()
        this.subscriptions.push({ filter, wire, handler })
        this.routes.clear()
        // Subscribing twice (if onConnect runs too) is harmless: the broker replaces the subscription.
        const client = this.client
        if (!client?.connected) return
        const after = this.wireFilters()
        // A filter covered by one already made: make that one again, for the retained messages.
        const made = after.filter(f => !before.includes(f))
        const toMake = made.length > 0 ? made : after.filter(f => f === wire || filterCovers(f, wire))
        try {
            await this.subscribeAll(client, toMake)
            // ones the new filter covers now come through it
            const covered = before.filter(f => !after.includes(f))
            if (covered.length > 0) await client.unsubscribeAsync(covered)
        } catch (err) {
            const why = (err as Error).message
            this.log.debug(`subscription to ${filter} deferred to the next connection: ${why}`)
        }
    }

    /** Each filter once, none another non-shared one covers (see MessageBus.subscribe). */
    private wireFilters(): string[] {
        const all = [...new Set(this.subscriptions.map(s => s.wire))]
        const plain = all.filter(f => !f.startsWith("$share/"))
        return all.filter(f => f.startsWith("$share/") || !plain.some(o => o !== f && filterCovers(o, f)))
    }

    publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
        if (!isValidTopicName(topic)) return Promise.reject(new TypeError(`invalid topic ${JSON.stringify(topic)}`))
        const client = this.client
        if (!client) return Promise.reject(new Error("the message bus is not started"))
        // mqtt.js would keep a QoS 1 message for the next connection: refuse it instead (no stale replays).
        if (!client.connected) return Promise.reject(new Error(`not connected to MQTT broker ${this.where}`))
        const qos = options.qos ?? 0
        const retain = options.retain ?? false
        return new Promise((resolve, reject) =>
            client.publish(topic, toBuffer(payload), { qos, retain }, err => {
                if (!err) resolve()
                // "Message removed" is mqtt.js' word for dropInFlight(); say what happened instead.
                else if (err.message === "Message removed")
                    reject(new Error("dropped: the connection closed before the broker acknowledged it"))
                else reject(err)
            })
        )
    }

    private async onConnect(client: MqttClient): Promise<void> {
        // No MQTT library here sets TCP_NODELAY, and Nagle's algorithm delays each round trip.
        // WebSocket streams have no such knob.
        const stream = client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined
        if (typeof stream?.setNoDelay === "function") stream.setNoDelay(true)

        this.connected = true
        const away = this.offlineSince !== undefined && this.outageReported
        const seconds = this.offlineSince === undefined ? 0 : (Date.now() - this.offlineSince) / 1000
        this.log.info(
            away
                ? `connected to MQTT broker ${this.where} again after ${seconds.toFixed(1)} s`
                : `connected to MQTT broker ${this.where}`
        )
        this.outageReported = false
        this.offlineSince = undefined
        const filters = this.wireFilters()
        try {
            if (filters.length > 0) await this.subscribeAll(client, filters)
        } catch (err) {
            // Either the connection dropped meanwhile (the next connect subscribes again; the check below
            // returns) or the broker refused (its ACL): say so loudly, but stay connected for the rest.
            const message = `could not subscribe to ${filters.join(", ")}: ${(err as Error).message}`
            if (this.client === client && this.connected) this.log.error(message)
            else this.log.debug(message)
        }
        if (this.client !== client || !this.connected) return
        this.online = true
        this.emit("online")
    }

    private async subscribeAll(client: MqttClient, filters: string[]): Promise<void> {
        // MQTT 5 (a share group): our own publications need not come back to us (No Local, §3.8.3.1):
        // every server would otherwise parse each of its acks and commands again. A shared subscription
        // must not ask for it (a Protocol Error, §3.8.3.1), and retained messages still come.
        const v5 = this.options.shareGroup !== undefined
        const map = Object.fromEntries(filters.map(f => [f, { qos: 0 as const, nl: v5 && !f.startsWith("$share/") }]))
        const granted = await client.subscribeAsync(map)
        const refused = granted.filter(g => g.qos === 128).map(g => g.topic)
        if (refused.length > 0) throw new Error(`the broker refused the subscription to ${refused.join(", ")}`)
        // info: with a share group, the `$share/...` filters in this line show the sharing is in place
        this.log.info(`subscribed to ${filters.join(", ")}`)
    }

    private onClose(): void {
        if (!this.client) return // stopping
        this.dropInFlight(this.client)
        const wasOnline = this.online
        this.online = false
        if (this.connected) {
            this.connected = false
            this.offlineSince = Date.now()
            this.outageReported = true
            const why = this.lastError ? ` (${this.lastError})` : ""
            this.log.warn(
                `lost the connection to MQTT broker ${this.where}${why}; reconnecting every ${this.seconds()} s`
            )
            if (wasOnline) this.emit("offline")
        } else if (!this.outageReported) {
            this.outageReported = true
            const why = this.lastError ?? "connection closed"
            this.log.warn(`cannot reach MQTT broker ${this.where} (${why}); will keep trying every ${this.seconds()} s`)
        }
        this.lastError = undefined
        this.emit("attemptFailed")
    }

    /**
     * mqtt.js resends unacknowledged QoS 1 messages on reconnect, however long the outage: a stale
     * command would overwrite the retained one. Drop them; the next reading sends a fresh one.
     */
    private dropInFlight(client: MqttClient): void {
        for (const [id, entry] of Object.entries(client.outgoing))
            if (entry.cmd === "publish") client.removeOutgoingMessage(Number(id))
    }

    private seconds(): number {
        return this.options.reconnectPeriodMs / 1000
    }

    private dispatch(topic: string, payload: Buffer): void {
        for (const s of this.routes.get(topic)) callHandler(s.handler, topic, payload, this.log)
    }
}
