/**
 * The relay baselines: a broker alone, the same fleet publishing telemetry, and one subscriber on
 * `+/telemetry` in a child process (relay_subscriber.ts) so that neither the broker's CPU nor the load
 * generator's includes it. They show what a message costs the broker itself, one in and one out, and how
 * many it relays per second: "relay" is Mosquitto as the lesson runs it, "aedes-relay" a bare aedes
 * (aedes_relay.ts), the broker inside our server. Nothing answers the devices: no commands, no acks.
 * Also the "floor" (node_floor.ts): a bare Node endpoint that does answer them, as our server does.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"
import {
    freePort,
    HOST,
    spawnLessonServer,
    startMosquitto,
    stopChild,
    track,
    waitForPort,
    type MessageCounter,
    type RunningSystem,
} from "./systems"

const READY_TIMEOUT_MS = 15_000
const ANSWER_TIMEOUT_MS = 5_000
const script = (name: string) => fileURLToPath(new URL(name, import.meta.url))

/** Each baseline's bundle, built once per bench run. */
const bundles = new Map<string, Promise<string>>()

/**
 * A baseline's script as one JavaScript file that Node runs alone, as `npm start` runs our server: through
 * tsx each process also carried its loader's thread (about 33 MB of RSS). In dist/ so that its packages
 * resolve from the project's node_modules.
 */
function bundled(name: string): Promise<string> {
    let built = bundles.get(name)
    if (!built) bundles.set(name, (built = bundle(name)))
    return built
}
async function bundle(name: string): Promise<string> {
    const outfile = fileURLToPath(new URL(`../dist/bench/${name.replace(/\.ts$/, ".mjs")}`, import.meta.url))
    await build({
        entryPoints: [script(name)],
        outfile,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        packages: "external",
        logLevel: "warning",
    })
    return outfile
}

/** Mosquitto (the lesson's config) with the subscriber. */
export async function startRelay(): Promise<RunningSystem> {
    const mosquitto = await startMosquitto()
    const url = `mqtt://${HOST}:${mosquitto.port}`
    const subscriber = await startSubscriber(url)
    return {
        name: "relay",
        url,
        confirmedBy: "relayed",
        pids: () => [mosquitto.child.pid!],
        helperPids: () => [subscriber.pid],
        subscriber,
        stop: async () => {
            await subscriber.stop()
            await mosquitto.stop()
        },
    }
}

/** One of the bench's TypeScript scripts as a Node child listening on a free port (`<script> <host> <port>`). */
async function startListener(name: string, what: string): Promise<{ child: ChildProcess; url: string }> {
    const port = await freePort()
    const child = track(
        spawn(process.execPath, [await bundled(name), HOST, String(port)], {
            stdio: ["ignore", "ignore", "pipe"],
        }),
        what
    )
    await waitForPort(port, what)
    return { child, url: `mqtt://${HOST}:${port}` }
}

/** A bare aedes in its own Node process, with the subscriber. */
export async function startAedesRelay(): Promise<RunningSystem> {
    const { child: broker, url } = await startListener("aedes_relay.ts", "the aedes relay")
    const subscriber = await startSubscriber(url)
    return {
        name: "aedes-relay",
        url,
        confirmedBy: "relayed",
        pids: () => [broker.pid!],
        helperPids: () => [subscriber.pid],
        subscriber,
        stop: async () => {
            await subscriber.stop()
            await stopChild(broker)
        },
    }
}

/**
 * The lesson's server on a bare aedes (aedes_relay.ts) instead of Mosquitto: the lesson's stack with the
 * broker ours embeds, so that what ours pays for aedes and what for its own work can be told apart.
 * Confirmed by commands, as the lesson is.
 */
export async function startLessonOnAedes(): Promise<RunningSystem> {
    const { child: broker, url } = await startListener("aedes_relay.ts", "the aedes relay")
    const server = spawnLessonServer(Number(new URL(url).port))
    return {
        name: "lesson-aedes",
        url,
        confirmedBy: "commands",
        pids: () => [broker.pid!, server.pid!],
        helperPids: () => [],
        stop: async () => {
            await stopChild(server)
            await stopChild(broker)
        },
    }
}

/**
 * The floor (node_floor.ts): a bare Node endpoint that answers the devices itself, an ack per reading and
 * a command on change, confirmed by acks as ours is. No subscriber: it delivers to no one else.
 */
export async function startNodeFloor(): Promise<RunningSystem> {
    const { child, url } = await startListener("node_floor.ts", "the node floor")
    return {
        name: "floor",
        url,
        confirmedBy: "acks",
        pids: () => [child.pid!],
        helperPids: () => [],
        stop: () => stopChild(child),
    }
}

interface Answer {
    id?: number
    op?: string
    count?: number
    samples?: number[]
}

/** The parent's side of relay_subscriber.ts: one question at a time over IPC, each answered or timed out. */
class Subscriber implements MessageCounter {
    private nextId = 1
    private readonly waiting = new Map<number, (answer: Answer) => void>()

    constructor(private readonly child: ChildProcess) {
        child.on("message", (answer: Answer) => {
            if (answer.id === undefined) return
            this.waiting.get(answer.id)?.(answer)
            this.waiting.delete(answer.id)
        })
    }

    get pid(): number {
        return this.child.pid!
    }

    async count(): Promise<number> {
        return (await this.ask("count")).count ?? 0
    }

    async startRecording(): Promise<void> {
        await this.ask("record")
    }

    async stopRecording(): Promise<number[]> {
        return (await this.ask("samples")).samples ?? []
    }

    stop(): Promise<void> {
        return stopChild(this.child)
    }

    private ask(op: "count" | "record" | "samples"): Promise<Answer> {
        const id = this.nextId++
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.waiting.delete(id)
                reject(new Error(`the relay's subscriber did not answer "${op}" within ${ANSWER_TIMEOUT_MS} ms`))
            }, ANSWER_TIMEOUT_MS)
            this.waiting.set(id, answer => (clearTimeout(timer), resolve(answer)))
            this.child.send({ id, op })
        })
    }
}

async function startSubscriber(url: string): Promise<Subscriber> {
    const child = track(
        spawn(process.execPath, ["--import", "tsx", script("relay_subscriber.ts"), url], {
            stdio: ["ignore", "ignore", "pipe", "ipc"],
        }),
        "the relay's subscriber"
    )
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
            () =>
                reject(new Error(`the relay's subscriber was not subscribed to ${url} within ${READY_TIMEOUT_MS} ms`)),
            READY_TIMEOUT_MS
        )
        child.on("message", (message: Answer) => message.op === "ready" && (clearTimeout(timer), resolve()))
        child.once("exit", code => (clearTimeout(timer), reject(new Error(`the relay's subscriber exited (${code})`))))
    })
    return new Subscriber(child)
}
