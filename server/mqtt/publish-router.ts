/**
 * aedes' publish, except: a publish BrokerAuth marked is dropped; a QoS 0 one only in-process
 * subscriptions match (readings) skips aedes' costly routing. Both complete on the next turn:
 * synchronously would re-enter aedes' parser.
 */
import type { Aedes, AedesPublishPacket } from "aedes"
import { isDropped } from "../auth/broker-auth"
import { TopicRoutes } from "./topic-routes"

export type Deliver = (packet: AedesPublishPacket, done: () => void) => void
export type DirectHandler = (topic: string, payload: Buffer) => void

type Publish = (packet: AedesPublishPacket, client?: unknown, done?: unknown) => void
type Subscribe = (topic: string, func: Deliver, done?: (...args: unknown[]) => void) => void
/** aedes' topic matcher (qlobber, in its mqemitter): the subscriptions a topic reaches. Not declared by aedes. */
type Matcher = { match(topic: string): unknown[] }

/** More levels than any topic of ours: such a topic goes to aedes, which checks it. */
const MAX_SHORTCUT_LEVELS = 8

export class PublishRouter {
    private readonly direct = new Map<unknown, DirectHandler>()
    /** topic → the handlers it reaches, or null: aedes routes it. Forgotten whenever a subscription changes. */
    private readonly routes = new TopicRoutes<DirectHandler[] | null>(topic => this.route(topic))

    private constructor(private readonly matcher: Matcher | undefined) {}

    static install(aedes: Aedes): PublishRouter {
        const internals = aedes as unknown as { publish: Publish; subscribe: Subscribe; unsubscribe: Subscribe }
        const matcher = (aedes as unknown as { mq?: { _matcher?: Matcher } }).mq?._matcher
        // Without the matcher (another aedes version) every publish takes aedes' way.
        const shortcut = new PublishRouter(typeof matcher?.match === "function" ? matcher : undefined)
        const publish = internals.publish.bind(aedes)
        internals.publish = (packet, client, done) => {
            const callback = typeof client === "function" ? client : done
            if (isDropped(packet) || (typeof client === "object" && client !== null && shortcut.take(packet))) {
                if (typeof callback === "function") setImmediate(callback as () => void)
                return
            }
            publish(packet, client, done)
        }
        // Every subscription, a client's or in process, comes through these two. aedes adds it at once
        // and removes it on the next turn: the routes are forgotten after each.
        const subscribe = internals.subscribe.bind(aedes)
        internals.subscribe = (topic, func, done) => {
            subscribe(topic, func, done)
            shortcut.routes.clear()
        }
        const unsubscribe = internals.unsubscribe.bind(aedes)
        internals.unsubscribe = (topic, func, done) =>
            unsubscribe(topic, func, (...args) => {
                shortcut.routes.clear()
                done?.(...args)
            })
        return shortcut
    }

    add(deliver: Deliver, direct: DirectHandler): void {
        this.direct.set(deliver, direct)
        this.routes.clear()
    }

    remove(deliver: Deliver): void {
        this.direct.delete(deliver)
        this.routes.clear()
    }

    /** True: the packet went to the in-process handlers it reaches (maybe none), and is done with. */
    take(packet: AedesPublishPacket): boolean {
        if (packet.qos !== 0 || packet.retain) return false
        const topic = packet.topic
        const handlers = this.routes.get(topic)
        if (handlers === null) return false
        for (const handler of handlers) handler(topic, packet.payload as Buffer)
        return true
    }

    private route(topic: string): DirectHandler[] | null {
        if (!this.matcher || topic.startsWith("$") || topic.split("/").length > MAX_SHORTCUT_LEVELS) return null
        const handlers: DirectHandler[] = []
        for (const func of this.matcher.match(topic)) {
            const handler = this.direct.get(func)
            if (!handler) return null // a client subscribes: aedes delivers to it, and to us
            handlers.push(handler)
        }
        return handlers
    }
}
