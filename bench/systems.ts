/**
 * The systems under test, each a set of child processes whose CPU and memory we read from /proc:
 * "ours" (our server with its embedded broker) and "lesson" (Mosquitto + the lesson's Python server);
 * the relay baselines are in relay.ts. Every child is tracked, so Ctrl-C or an error kills them all.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { accessSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, connect as netConnect } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { ConfirmedBy } from "./load"

export const HOST = "127.0.0.1"
export const PYTHON = "/usr/bin/python3"
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100

/**
 * In the order they run; "lesson-aedes" is the lesson's server on a bare aedes, "ours-mosquitto" our
 * server on Mosquitto, "relay" Mosquitto alone, "aedes-relay" a bare aedes, "floor" a bare Node endpoint
 * answering our protocol (relay.ts).
 */
export const SYSTEM_NAMES = [
    "ours",
    "lesson",
    "lesson-aedes",
    "ours-mosquitto",
    "relay",
    "aedes-relay",
    "floor",
] as const
export type SystemName = (typeof SYSTEM_NAMES)[number]

/** Counts what the relays' subscriber received (relay.ts); the bench asks it over IPC. */
export interface MessageCounter {
    count(): Promise<number>
    /** Starts timing deliveries (every 10th message). */
    startRecording(): Promise<void>
    /** Stops, and returns the delivery times (ms) since startRecording. */
    stopRecording(): Promise<number[]>
}

export interface RunningSystem {
    name: SystemName
    url: string
    /** how a reading counts as handled: our acks, the lesson's commands, or the relays' subscriber */
    confirmedBy: ConfirmedBy
    /** the processes whose CPU and memory are the system's */
    pids: () => number[]
    /** processes that take part but are not counted (the relays' subscriber) */
    helperPids: () => number[]
    subscriber?: MessageCounter
    stop: () => Promise<void>
}

/** Every child we started, so an error or Ctrl-C can kill them all. */
const children = new Set<ChildProcess>()
/** Temporary folders (Mosquitto configs) to remove then too. */
const tempDirs = new Set<string>()

export function killAllChildren(): void {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
}

/**
 * Runs a bench command to its end: SIGINT and SIGTERM go to `shutdown` (130, 143), so does a failure
 * (1, after saying so); a normal end runs `cleanUp`, kills every child left and exits.
 */
export function runCommand(
    name: string,
    main: () => Promise<void>,
    shutdown: (code: number) => void,
    cleanUp: () => void = () => undefined
): void {
    process.once("SIGINT", () => shutdown(130))
    process.once("SIGTERM", () => shutdown(143))
    main().then(
        () => {
            killAllChildren()
            cleanUp()
            process.exit(process.exitCode ?? 0)
        },
        error => {
            console.error(`${name} failed:`, error)
            shutdown(1)
        }
    )
}

export function findMosquitto(): string | undefined {
    const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"]
    for (const dir of dirs.filter(Boolean)) {
        try {
            accessSync(join(dir, "mosquitto"), constants.X_OK)
            return join(dir, "mosquitto")
        } catch {
            // not here
        }
    }
    return undefined
}

export function haveLessonStack(): { ok: boolean; why?: string } {
    if (!findMosquitto()) return { ok: false, why: "the mosquitto binary was not found" }
    if (spawnSync(PYTHON, ["-c", "import paho.mqtt.client"]).status !== 0)
        return { ok: false, why: `${PYTHON} cannot import paho.mqtt (apt-get install -y python3-paho-mqtt)` }
    return { ok: true }
}

export async function freePort(): Promise<number> {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, HOST, resolve))
    const port = (server.address() as { port: number }).port
    await new Promise(resolve => server.close(resolve))
    return port
}

export function track(child: ChildProcess, what: string): ChildProcess {
    children.add(child)
    let err = ""
    child.stderr?.setEncoding("utf8")
    child.stderr?.on("data", (chunk: string) => (err = (err + chunk).slice(-2000)))
    child.once("exit", (code, signal) => {
        children.delete(child)
        if (!stopping.has(child)) console.error(`!!! ${what} exited early (${code ?? signal}): ${err.trim()}`)
    })
    return child
}
const stopping = new Set<ChildProcess>()

export async function stopChild(child: ChildProcess): Promise<void> {
    stopping.add(child)
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once("exit", resolve))
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
    await exited
    clearTimeout(timer)
}

/** Waits until something accepts TCP connections on the port (bounded). */
export async function waitForPort(port: number, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
        const ok = await new Promise<boolean>(resolve => {
            const socket = netConnect(port, HOST)
            socket.once("connect", () => (socket.destroy(), resolve(true)))
            socket.once("error", () => resolve(false))
        })
        if (ok) return
        await new Promise(r => setTimeout(r, 100))
    }
    throw new Error(`${what} did not listen on port ${port} within ${ms} ms`)
}

/** A temporary folder, removed by removeTempDir() or, whatever happens, by killAllChildren(). */
export function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    tempDirs.add(dir)
    return dir
}

export function removeTempDir(dir: string): void {
    rmSync(dir, { recursive: true, force: true })
    tempDirs.delete(dir)
}

/** Our server with its embedded broker; for an A/B run (ab.ts), from another tree or with other Node options. */
export async function startOurs(from: ServerSource = {}): Promise<RunningSystem> {
    const port = await freePort()
    const server = spawnOurServer(["--mqtt-port", String(port)], "our server", from)
    await waitForPort(port, "our server")
    return {
        name: "ours",
        url: `mqtt://${HOST}:${port}`,
        confirmedBy: "acks",
        pids: () => [server.child.pid!],
        helperPids: () => [],
        stop: server.stop,
    }
}

/**
 * Our server joined to Mosquitto (`--mqtt-url`), the way the README offers for a fleet that outgrows the
 * embedded broker: on the lesson's broker, so the two stacks differ in their server and in the one line
 * docs/scale-out.md asks of Mosquitto's config, `set_tcp_nodelay true` (without it Mosquitto holds the
 * command that follows an ack until the device's TCP acknowledges the ack: p50 reading → command 11 ms
 * instead of 0.3 at 100 readings/s, p99 42 ms instead of 2 at 5000/s, measured). Both processes count as
 * the system, as for the lesson.
 */
export async function startOursOnMosquitto(): Promise<RunningSystem> {
    const mosquitto = await startMosquitto("set_tcp_nodelay true\nlog_dest stderr\nlog_type subscribe\n")
    const subscribed = subscriptionLogged(mosquitto.child, "+/telemetry")
    const url = `mqtt://${HOST}:${mosquitto.port}`
    const server = spawnOurServer(["--mqtt-url", url])
    try {
        await subscribed
    } catch (error) {
        await server.stop()
        await mosquitto.stop()
        throw error
    }
    return {
        name: "ours-mosquitto",
        url,
        confirmedBy: "acks",
        pids: () => [mosquitto.child.pid!, server.child.pid!],
        helperPids: () => [],
        stop: async () => {
            await server.stop()
            await mosquitto.stop()
        },
    }
}

/**
 * Node's options for our server as a child, from the environment: BENCH_PROFILE_DIR=dir writes a V8 CPU
 * profile of each server into dir (open it in Chrome's DevTools or speedscope; `npm run bench:profile`
 * sums it up), BENCH_SERVER_NODE_ARGS="..." adds any others.
 */
function serverNodeArgs(): string[] {
    const profileDir = process.env.BENCH_PROFILE_DIR
    const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []
    return [...profile, ...(process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? [])]
}

/**
 * Where our server's stdout goes: BENCH_SERVER_STDOUT=dir writes it to dir/server-<time>.log (what
 * `--trace-gc` prints, with BENCH_SERVER_NODE_ARGS), otherwise nowhere.
 */
function serverStdout(): "ignore" | number {
    const dir = process.env.BENCH_SERVER_STDOUT
    return dir
        ? openSync(join(dir, `server-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.log`), "w")
        : "ignore"
}

/** Where our server runs from: the tree at `root` (default: this one) with `nodeArgs` added to Node's options. */
export interface ServerSource {
    root?: string
    nodeArgs?: string[]
    /** The dashboard's port; 0 (the default): any free one. */
    httpPort?: number
}

/** The trees whose `prestart` has run: once per bench run each. */
const preparedTrees = new Set<string>()

/**
 * What the tree at `root` runs as its `npm start`, without npm: Node's options and the script from its
 * package.json (the bundle; through tsx in trees older than 2026-12-06), after its `prestart` (the
 * bundle's build), run once.
 */
function serverEntry(root = process.cwd()): { nodeOptions: string[]; script: string } {
    const { scripts } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
        scripts: Record<string, string | undefined>
    }
    const [node, ...words] = (scripts.start ?? "").split(/\s+/).filter(Boolean)
    const script = words.findIndex(word => /\.(m?js|ts)$/.test(word))
    if (node !== "node" || script === -1)
        throw new Error(`${root}: npm start is not "node [options] <script>": ${JSON.stringify(scripts.start)}`)
    if (scripts.prestart && !preparedTrees.has(root)) {
        const prepared = spawnSync(scripts.prestart, { cwd: root, shell: true, encoding: "utf8" })
        if (prepared.status !== 0) throw new Error(`${root}: its prestart failed: ${prepared.stderr}`)
        preparedTrees.add(root)
    }
    return { nodeOptions: words.slice(0, script), script: words[script] }
}

/**
 * Our server as a child, the default system with `brokerArgs`: history included (its database in a temp
 * folder, removed on stop), the dashboard on `httpPort` (0: any free port; unless `brokerArgs` say
 * `--no-dashboard`), from the tree at `root` (default: this one) with `nodeArgs`.
 */
export function spawnOurServer(
    brokerArgs: string[],
    name = "our server",
    { root, nodeArgs = [], httpPort = 0 }: ServerSource = {}
): { child: ChildProcess; stop: () => Promise<void> } {
    const dataDir = tempDir("nightlight-bench-data-")
    const { nodeOptions, script } = serverEntry(root)
    const args = [
        // the bench's options after npm start's: the last of two settings wins
        ...nodeOptions,
        ...serverNodeArgs(),
        ...nodeArgs,
        script,
        ...["--no-sim", ...brokerArgs, "--log-level", "warn"],
        ...["--data-dir", dataDir, "--http-port", String(httpPort)],
    ]
    const child = track(spawn(process.execPath, args, { cwd: root, stdio: ["ignore", serverStdout(), "pipe"] }), name)
    const stop = async () => {
        await stopChild(child)
        removeTempDir(dataDir)
    }
    return { child, stop }
}

/**
 * Resolves once Mosquitto (started with `log_type subscribe` to stderr) has logged `count` subscriptions
 * to `filter`; rejects after `ms`.
 */
export function subscriptionLogged(broker: ChildProcess, filter: string, count = 1, ms = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
        let log = ""
        let seen = 0
        const onData = (chunk: string) => {
            log = (log + chunk).slice(-10_000)
            for (let at = log.indexOf(` ${filter}`); at !== -1; at = log.indexOf(` ${filter}`)) {
                log = log.slice(at + filter.length + 1)
                if (++seen >= count) return done()
            }
        }
        const done = (error?: Error) => {
            clearTimeout(timer)
            broker.stderr!.off("data", onData)
            if (error) reject(error)
            else resolve()
        }
        const timer = setTimeout(
            () => done(new Error(`only ${seen} of ${count} subscription(s) to ${filter} within ${ms} ms`)),
            ms
        )
        broker.stderr!.setEncoding("utf8")
        broker.stderr!.on("data", onData)
    })
}

/**
 * Mosquitto as the lesson runs it: a generated config on a free port, anonymous, no persistence;
 * `extraConfig` lines are added (the scale-out bench has it log subscriptions).
 */
export async function startMosquitto(
    extraConfig = ""
): Promise<{ port: number; child: ChildProcess; stop: () => Promise<void> }> {
    const port = await freePort()
    const dir = tempDir("nightlight-bench-")
    const config = join(dir, "mosquitto.conf")
    writeFileSync(
        config,
        `listener ${port} ${HOST}\nallow_anonymous true\npersistence false\nmax_queued_messages 10000\n` + extraConfig
    )
    const child = track(spawn(findMosquitto()!, ["-c", config], { stdio: ["ignore", "ignore", "pipe"] }), "mosquitto")
    await waitForPort(port, "mosquitto")
    const stop = async () => {
        await stopChild(child)
        removeTempDir(dir)
    }
    return { port, child, stop }
}

/** The lesson's server (lesson_fleet_server.py) on the broker at `port`. */
export function spawnLessonServer(port: number): ChildProcess {
    // the lesson prints two lines per reading; they go to /dev/null (as costly as Python makes them)
    const script = fileURLToPath(new URL("lesson_fleet_server.py", import.meta.url))
    return track(spawn(PYTHON, [script, HOST, String(port)], { stdio: ["ignore", "ignore", "pipe"] }), "lesson")
}

export async function startLesson(): Promise<RunningSystem> {
    const mosquitto = await startMosquitto()
    const python = spawnLessonServer(mosquitto.port)
    return {
        name: "lesson",
        url: `mqtt://${HOST}:${mosquitto.port}`,
        confirmedBy: "commands",
        pids: () => [mosquitto.child.pid!, python.pid!],
        helperPids: () => [],
        stop: async () => {
            await stopChild(python)
            await mosquitto.stop()
        },
    }
}

/** CPU time (user + system, all threads) of the processes, in µs. */
export function cpuMicros(pids: number[]): number {
    let ticks = 0
    for (const pid of pids) {
        const stat = readProc(pid, "stat")
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
        ticks += Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of stat)
    }
    return (ticks * 1e6) / CLK_TCK
}

/** CPU time of the whole machine (every core busy, i.e. not idle nor waiting for I/O), in µs. */
export function machineCpuMicros(): number {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number)
    const [user, nice, system, , , irq, softirq, steal] = fields // idle and iowait are not busy
    return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1e6) / CLK_TCK
}

/** Resident memory of the processes together, in MB. */
export function rssMB(pids: number[]): number {
    let kb = 0
    for (const pid of pids) {
        const match = /VmRSS:\s+(\d+) kB/.exec(readProc(pid, "status"))
        if (match) kb += Number(match[1])
    }
    return kb / 1024
}

function readProc(pid: number, file: string): string {
    try {
        return readFileSync(`/proc/${pid}/${file}`, "utf8")
    } catch (error) {
        throw new Error(`process ${pid} of the system under test is gone (${(error as Error).message})`)
    }
}
