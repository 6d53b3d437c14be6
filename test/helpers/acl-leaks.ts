/**
 * The exhaustive topic-rule leak check, against any broker (our embedded aedes, a Mosquitto with
 * examples/mosquitto): device A publishes to every topic it does not own, which a witness reading `#`
 * must not see (live or retained), and subscribes to every filter while the others publish everywhere:
 * anything A receives beyond its own commands, acks and config, now or on resubscribing, is a leak. Each phase
 * ends with a sentinel that must arrive after everything sent before it, so waits are bounded.
 */
import { randomBytes } from "node:crypto"
import type { IClientOptions, MqttClient } from "mqtt"
import { isValidTopicFilter, isValidTopicName, topicMatches } from "../../server/mqtt/message-bus"
import { closeClient, connectClient, within } from "./mqtt"

export interface Login {
    username: string
    password: string
}

export interface LeakCheckSetup {
    url: string
    /** Two devices; A is the one trying to break out. */
    a: Login
    b: Login
    /** A user with the server's role (publishes commands and acks). */
    server: Login
    /** A user who may read every topic and publish to every topic it can (admin on aedes). */
    witness: Login
    /** Extra options for every client (TLS). */
    clientOptions?: IClientOptions
    /** false: A does not try `$` topics (aedes without our hooks closes a client that publishes to `$SYS`). */
    dollarTopics?: boolean
}

export interface LeakReport {
    /** Messages of A's that reached the witness on a topic A may not publish. */
    writeLeaks: string[]
    /** Messages A received on a topic other than its own commands, acks and config. */
    readLeaks: string[]
    /** Filters the broker granted A (SUBACK below 128) beyond its own three topics. */
    grantedFilters: string[]
    /** How many publishes and subscriptions were tried. */
    tried: { publishes: number; filters: number }
}

/** Every topic of every kind for A and B, the server's and Home Assistant's, and some odd ones. */
export function topicUniverse(a: string, b: string): string[] {
    const kinds = ["telemetry", "status", "commands", "acks", "set", "config", "x", ""]
    const topics: string[] = []
    for (const id of [a, b, "nightlight-server", "other"]) {
        topics.push(id, `${id}/telemetry/extra`, `nightlight/${id}/set`)
        for (const kind of kinds) topics.push(`${id}/${kind}`)
        for (const component of ["sensor", "light"]) topics.push(`homeassistant/${component}/${id}/config`)
    }
    topics.push("homeassistant/status", "/telemetry", "/commands", "nightlight", "a/b/c/d", "$SYS/nightlight/x")
    return [...new Set(topics)].filter(isValidTopicName)
}

/** Every topic above as a filter, and wildcards of every shape. */
export function filterUniverse(a: string, b: string): string[] {
    const wildcards = ["#", "+", "+/#", "+/+", "+/+/+", "+/+/#", "$SYS/#", "$SYS/+", "nightlight/#", "nightlight/+/set"]
    for (const kind of ["telemetry", "status", "commands", "acks", "config", "set", "#"]) wildcards.push(`+/${kind}`)
    for (const id of [a, b]) wildcards.push(`${id}/#`, `${id}/+`, `nightlight/${id}/#`, `+/${id}/set`)
    wildcards.push("homeassistant/#", "homeassistant/+/+/config", `homeassistant/+/${b}/config`)
    return [...new Set([...topicUniverse(a, b), ...wildcards])].filter(isValidTopicFilter)
}

const own = (id: string) => ({
    publish: [`${id}/telemetry`, `${id}/status`],
    read: [`${id}/commands`, `${id}/acks`, `${id}/config`],
})

export async function checkLeaks(setup: LeakCheckSetup): Promise<LeakReport> {
    const marker = `leak-${randomBytes(4).toString("hex")}`
    const connect = (login: Login, id: string) =>
        connectClient(setup.url, { ...setup.clientOptions, ...login, clientId: `${id}-${marker}`, clean: true })
    const a = setup.a.username
    const b = setup.b.username
    const universe = topicUniverse(a, b).filter(t => setup.dollarTopics !== false || !t.startsWith("$"))
    const filters = filterUniverse(a, b)
    const clients: MqttClient[] = []
    try {
        const witness = await connect(setup.witness, "witness")
        clients.push(witness)
        const seen: { topic: string; payload: string }[] = []
        witness.on("message", (topic, payload) => seen.push({ topic, payload: payload.toString() }))
        await within(5000, "the witness's subscription", witness.subscribeAsync("#", { qos: 1 }))

        // Writes: A publishes everywhere but its own topics, then a sentinel on its own telemetry.
        const deviceA = await connect(setup.a, "device-a")
        clients.push(deviceA)
        let publishes = 0
        for (const topic of universe.filter(t => !own(a).publish.includes(t)))
            for (const [qos, retain] of [
                [0, false],
                [1, false],
                [1, true],
            ] as const) {
                publishes++
                deviceA.publish(topic, `${marker}:a:${qos}:${retain}`, { qos, retain })
            }
        const sentinel = `${marker}:a:sentinel`
        deviceA.publish(`${a}/telemetry`, sentinel, { qos: 1 })
        await waitFor(() => seen.some(m => m.payload === sentinel), "A's sentinel at the witness")
        // What the broker kept: a fresh reader gets every retained message on subscribing.
        const reader = await connect(setup.witness, "reader")
        clients.push(reader)
        const retained: { topic: string; payload: string }[] = []
        reader.on("message", (topic, payload) => retained.push({ topic, payload: payload.toString() }))
        await within(5000, "the reader's subscription", reader.subscribeAsync("#", { qos: 1 }))
        reader.publish(`${marker}/end`, "end", { qos: 1 })
        await waitFor(() => retained.some(m => m.topic === `${marker}/end`), "the reader's sentinel")
        const writeLeaks = [...seen, ...retained]
            .filter(m => m.payload.startsWith(`${marker}:a:`) && !own(a).publish.includes(m.topic))
            .map(m => `${m.topic} ← ${m.payload}`)

        // Reads: A subscribes to every filter (its own three must be granted, nothing else); then everyone
        // else publishes everywhere, retained and not, each ending with a sentinel on a topic it may use.
        const received: { topic: string; payload: string }[] = []
        deviceA.on("message", (topic, payload) => received.push({ topic, payload: payload.toString() }))
        const subscribeAll = () => within(5000, "A's subscriptions", subscribeGranted(deviceA, filters))
        const granted = await subscribeAll()
        const grantedFilters = granted.filter(g => g.qos < 128 && !own(a).read.includes(g.topic)).map(g => g.topic)
        const senders = [
            { name: "b", client: await connect(setup.b, "device-b"), last: `${b}/telemetry` },
            { name: "server", client: await connect(setup.server, "server"), last: `${b}/commands` },
            { name: "writer", client: await connect(setup.witness, "writer"), last: `${marker}/end` },
        ]
        clients.push(...senders.map(s => s.client))
        for (const { name, client, last } of senders) {
            for (const topic of universe.filter(t => !own(a).read.includes(t)))
                for (const retain of [false, true])
                    client.publish(topic, `${marker}:${name}:${retain}`, { qos: 1, retain })
            client.publish(last, `${marker}:${name}:end`, { qos: 1 })
        }
        for (const { name } of senders)
            await waitFor(
                () => seen.some(m => m.payload === `${marker}:${name}:end`),
                `${name}'s sentinel at the witness`
            )
        // A subscribes again: any retained message it may not read would come now.
        await subscribeAll()
        const lastWord = `${marker}:last`
        senders[2].client.publish(`${a}/commands`, lastWord, { qos: 1 })
        await waitFor(() => received.some(m => m.payload === lastWord), "the writer's sentinel at A")
        const readLeaks = received
            .filter(m => !own(a).read.some(t => topicMatches(t, m.topic)))
            .map(m => `${m.topic} → ${m.payload}`)
        return { writeLeaks, readLeaks, grantedFilters, tried: { publishes, filters: filters.length } }
    } finally {
        await Promise.all(clients.map(c => closeClient(c)))
    }
}

/**
 * Subscribes to every filter in one SUBACK and returns what was granted for each (128: refused).
 * subscribeAsync rejects as soon as one filter is refused; the callback still gets the SUBACK.
 */
function subscribeGranted(client: MqttClient, filters: string[]): Promise<{ topic: string; qos: number }[]> {
    const request = Object.fromEntries(filters.map(f => [f, { qos: 1 as const }]))
    return new Promise((resolve, reject) =>
        client.subscribe(request, (err, _granted, packet) => {
            const codes = packet && "granted" in packet ? (packet.granted as number[]) : undefined
            if (!codes) return reject(err ?? new Error("no SUBACK"))
            resolve(filters.map((topic, i) => ({ topic, qos: codes[i] ?? 128 })))
        })
    )
}

/** Polls until `condition` holds; bounded. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
        await new Promise(resolve => setTimeout(resolve, 20))
    }
}
