/** What the server needs from MQTT; EmbeddedBus and MqttClientBus pass the same contract test. */
import type { Logger } from "../util/logger"

export type MessageHandler = (topic: string, payload: Buffer) => void

/** The default, QoS 0 and not retained, is the lesson's delivery. */
export interface PublishOptions {
    qos?: 0 | 1
    retain?: boolean
}

/** `shared`: each message to one server of the share group (MQTT 5.0 §4.8.2); without one, ordinary. */
export interface SubscribeOptions {
    shared?: boolean
}

export interface MessageBus {
    start(): Promise<void>
    stop(): Promise<void>
    /**
     * Retained messages come each time the subscription is made (start, every reconnection): handlers
     * must take repeats in their stride. A shared subscription gets none (MQTT 5.0 §4.8.2), and must
     * not overlap another of this bus's: the broker would deliver once per subscription.
     */
    subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<void>
    /** Never queues: while the broker is out of reach it rejects, as the message would arrive stale. */
    publish(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<void>
}

/** A topic a message can be published to: non-empty, no wildcards, no NUL. */
export function isValidTopicName(topic: string): boolean {
    return topic.length > 0 && !/[+#\u0000]/.test(topic) && Buffer.byteLength(topic) <= 65535
}

/** A subscription filter: `+` alone in its level, `#` alone and last. */
export function isValidTopicFilter(filter: string): boolean {
    if (filter.length === 0 || filter.includes("\u0000") || Buffer.byteLength(filter) > 65535) return false
    const levels = filter.split("/")
    return levels.every((level, i) => {
        if (level.includes("#")) return level === "#" && i === levels.length - 1
        return !level.includes("+") || level === "+"
    })
}

/** MQTT matching, including the rule that a leading wildcard does not match `$SYS/...`-style topics. */
export function topicMatches(filter: string, topic: string): boolean {
    if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false
    const f = filter.split("/")
    const t = topic.split("/")
    for (let i = 0; i < f.length; i++) {
        if (f[i] === "#") return true
        if (i >= t.length) return false
        if (f[i] !== "+" && f[i] !== t[i]) return false
    }
    return f.length === t.length
}

/** Handlers are our code, but a bug in one must not take the broker connection (or aedes) down with it. */
export function callHandler(handler: MessageHandler, topic: string, payload: Buffer, log: Logger): void {
    try {
        handler(topic, payload)
    } catch (err) {
        log.error({ err }, `message handler failed on topic ${JSON.stringify(topic)}`)
    }
}

export function toBuffer(payload: string | Buffer | Uint8Array): Buffer {
    if (typeof payload === "string") return Buffer.from(payload, "utf8")
    return Buffer.isBuffer(payload) ? payload : Buffer.from(payload)
}
