/**
 * Where a server's CPU goes, from a V8 CPU profile (`BENCH_PROFILE_DIR=dir npm run bench ...`, or any
 * `node --cpu-prof`): its busy time (idle left out) in a window, by part of the stack: socket writes
 * (the write syscalls, timed inside Node's writev), the garbage collector, the store (SQLite), our
 * server's code, aedes and the packages it brings, other packages, and Node itself. Node's own frames
 * (streams, events, timers) count for the nearest caller that is one of these, so "aedes" includes the
 * stream work aedes asks for. Then the functions that took the most time themselves.
 *
 * Profiles open in DevTools too; this is the one table that says which part would pay to make cheaper,
 * the same way each time (bench/README.md "Where the CPU goes").
 *
 *   usage: npm run bench:profile -- <file.cpuprofile> [--from s] [--to s] [--top n]
 */
import { existsSync, readFileSync } from "node:fs"
import { SourceMap, type SourceMapPayload } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

/** What `node --cpu-prof` writes (the fields read here). */
export interface CpuProfile {
    nodes: {
        id: number
        callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number }
        children?: number[]
    }[]
    samples: number[]
    /** µs since the previous sample */
    timeDeltas: number[]
}

export interface Budget {
    /** ms of the window: busy and all */
    busyMs: number
    windowMs: number
    /** by part, most first: share of the busy time (0..1) */
    parts: { part: string; ms: number; share: number }[]
    /** functions by their own time, most first */
    functions: { name: string; ms: number; share: number }[]
}

/** Packages that come with aedes: their time is the broker's. */
const BROKER_PACKAGES = new Set([
    "aedes",
    "aedes-packet",
    "aedes-persistence",
    "mqtt-packet",
    "mqemitter",
    "qlobber",
    "bl",
    "debug",
    "fastfall",
    "fastparallel",
    "fastseries",
    "reusify",
    "retimer",
    "hyperid",
    "end-of-stream",
])
/** Node's native calls that write to a socket: mostly the syscall (and, on loopback, the receiving side's TCP). */
const SOCKET_WRITES = new Set(["writev", "writeBuffer", "writeUtf8String", "writeLatin1String", "writeAsciiString"])

export const PARTS = {
    socketWrites: "socket writes (syscalls)",
    gc: "garbage collector",
    program: "V8 and libuv, not attributed",
    store: "store (SQLite)",
    ours: "our server (server/)",
    broker: "aedes and its packages",
    node: "Node (socket reads, timers, streams)",
}

/** The part a frame of its own belongs to; undefined for Node's internals (they go to their caller). */
export function partOf(callFrame: { functionName: string; url: string }): string | undefined {
    const { functionName, url } = callFrame
    if (functionName === "(garbage collector)") return PARTS.gc
    if (functionName === "(program)") return PARTS.program
    if (!url && SOCKET_WRITES.has(functionName)) return PARTS.socketWrites
    if (url.includes("/node_modules/better-sqlite3/") || url.includes("/server/store/")) return PARTS.store
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]
    if (pkg) return BROKER_PACKAGES.has(pkg) ? PARTS.broker : `package ${pkg}`
    if (url.includes("/server/")) return PARTS.ours
    if (url && !url.startsWith("node:")) return url.split("/").slice(-2).join("/")
    return undefined
}

/**
 * "name folder/file:line" (in a package, its path from the package's name); no line for TypeScript, whose lines in the profile are those of tsx's output,
 * and no file for V8's and Node's native functions.
 */
function functionLabel(functionName: string, url: string, lineNumber: number): string {
    const name = functionName || "(anonymous)"
    if (!url) return name
    // in a package: from its name on (aedes/lib/client.js, not lib/client.js); else the folder and file
    const inPackage = url.lastIndexOf("/node_modules/")
    const file = inPackage >= 0 ? url.slice(inPackage + "/node_modules/".length) : url.split("/").slice(-2).join("/")
    return url.endsWith(".ts") ? `${name} ${file}` : `${name} ${file}:${lineNumber + 1}`
}

/** The budget of the samples between `fromS` and `toS` seconds after the profile began. */
export function budget(profile: CpuProfile, fromS = 0, toS = Infinity): Budget {
    const byId = new Map(profile.nodes.map(node => [node.id, node]))
    const parentOf = new Map<number, number>()
    for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
    const timeOf = new Map<number, number>() // node id → µs of samples that stopped in it
    let t = 0
    let windowUs = 0
    for (let i = 0; i < profile.samples.length; i++) {
        const dt = profile.timeDeltas[i] ?? 0
        t += dt
        if (t < fromS * 1e6 || t > toS * 1e6) continue
        windowUs += dt
        timeOf.set(profile.samples[i], (timeOf.get(profile.samples[i]) ?? 0) + dt)
    }
    const partMemo = new Map<number, string>()
    const partFor = (id: number): string => {
        const path: number[] = []
        let part: string | undefined
        for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
            part = partMemo.get(at) ?? partOf(byId.get(at)!.callFrame)
            if (part) break
            path.push(at)
        }
        part ??= PARTS.node
        for (const at of path) partMemo.set(at, part)
        return part
    }
    const parts = new Map<string, number>()
    const functions = new Map<string, number>()
    let busyUs = 0
    for (const [id, us] of timeOf) {
        const { functionName, url, lineNumber } = byId.get(id)!.callFrame
        if (functionName === "(idle)") continue
        busyUs += us
        const part = partFor(id)
        parts.set(part, (parts.get(part) ?? 0) + us)
        const name = functionLabel(functionName, url, lineNumber)
        functions.set(name, (functions.get(name) ?? 0) + us)
    }
    const rows = <K extends string>(map: Map<string, number>, key: K) =>
        [...map]
            .sort((a, b) => b[1] - a[1])
            .map(
                ([name, us]) =>
                    ({ [key]: name, ms: us / 1000, share: busyUs ? us / busyUs : 0 }) as Record<K, string> & {
                        ms: number
                        share: number
                    }
            )
    return {
        busyMs: busyUs / 1000,
        windowMs: windowUs / 1000,
        parts: rows(parts, "part"),
        functions: rows(functions, "name"),
    }
}

export function formatBudget(b: Budget, top = 15): string {
    const pct = (share: number) => `${(100 * share).toFixed(1)}%`.padStart(6)
    const lines = [
        `busy ${b.busyMs.toFixed(0)} ms of ${b.windowMs.toFixed(0)} ms (${b.windowMs ? ((100 * b.busyMs) / b.windowMs).toFixed(0) : 0}% of a core)`,
        "by part:",
        ...b.parts.map(p => `${pct(p.share)}  ${p.part}`),
        `the ${Math.min(top, b.functions.length)} functions with the most time of their own:`,
        ...b.functions.slice(0, top).map(f => `${pct(f.share)}  ${f.name}`),
    ]
    return lines.join("\n")
}

/**
 * The profile with each frame of a bundled file (our server's dist/server/main.js) moved to its source,
 * through the file's source map (`<file>.map`): the parts are told apart by their source's folder. The
 * map must be the one built with the profiled file: a rebuild since moves the frames.
 */
export function withSources(profile: CpuProfile, readMap = readSourceMap): CpuProfile {
    const maps = new Map<string, SourceMap | undefined>()
    const mapOf = (url: string) => {
        if (!maps.has(url)) maps.set(url, readMap(url))
        return maps.get(url)
    }
    const nodes = profile.nodes.map(node => {
        const { url, lineNumber, columnNumber } = node.callFrame
        if (!url.startsWith("file:") || url.includes("/node_modules/") || lineNumber < 0) return node
        const entry = mapOf(url)?.findEntry(lineNumber, columnNumber ?? 0)
        if (!entry || !("originalSource" in entry)) return node
        const source = new URL(entry.originalSource, url).href
        return { ...node, callFrame: { ...node.callFrame, url: source, lineNumber: entry.originalLine } }
    })
    return { ...profile, nodes }
}

function readSourceMap(url: string): SourceMap | undefined {
    const file = `${fileURLToPath(url)}.map`
    if (!existsSync(file)) return undefined
    return new SourceMap(JSON.parse(readFileSync(file, "utf8")) as SourceMapPayload)
}

function main(args: string[]): void {
    const usage = "usage: npm run bench:profile -- <file.cpuprofile> [--from s] [--to s] [--top n]"
    const file = args.find((arg, i) => !arg.startsWith("--") && !args[i - 1]?.startsWith("--"))
    const flag = (name: string, fallback: number) => {
        const at = args.indexOf(`--${name}`)
        if (at === -1) return fallback
        const value = Number(args[at + 1])
        if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} wants a number ≥ 0, got ${args[at + 1]}`)
        return value
    }
    if (!file) throw new Error(usage)
    let profile: CpuProfile
    try {
        profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile
    } catch (err) {
        throw new Error(`cannot read the profile ${file}: ${(err as Error).message}`)
    }
    if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas))
        throw new Error(`${file} is not a V8 CPU profile (no nodes, samples and timeDeltas)`)
    console.log(formatBudget(budget(withSources(profile), flag("from", 0), flag("to", Infinity)), flag("top", 15)))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
    try {
        main(process.argv.slice(2))
    } catch (err) {
        console.error((err as Error).message)
        process.exit(2)
    }
}
