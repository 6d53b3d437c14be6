/**
 * The bench's profile budget (bench/profile-budget.ts): a hand-made profile whose shares are known, and
 * a real one written by `node --cpu-prof` from a script that spends its time in a file under server/.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect, test } from "vitest"
import { build } from "esbuild"
import { PARTS, budget, formatBudget, partOf, withSources, type CpuProfile } from "../profile-budget"

const AEDES = "file:///app/node_modules/aedes/lib/client.js"
const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
    id,
    callFrame: { functionName, url, lineNumber: 9 },
    children,
})

/** root → idle, GC, aedes → Node stream → writev, ours → Node events, the store, pino */
const PROFILE: CpuProfile = {
    nodes: [
        frame(1, "(root)", "", [2, 3, 4, 8, 10, 11]),
        frame(2, "(idle)", ""),
        frame(3, "(garbage collector)", ""),
        frame(4, "deliver", AEDES, [5]),
        frame(5, "Writable.uncork", "node:internal/streams/writable", [6]),
        frame(6, "writev", ""),
        frame(7, "unused", "node:events"),
        frame(8, "onTelemetry", "file:///app/server/controller-telemetry.ts", [9]),
        frame(9, "emit", "node:events"),
        frame(10, "stage", "file:///app/server/store/history.ts"),
        frame(11, "write", "file:///app/node_modules/pino/pino.js"),
    ],
    // 1 ms apart: idle 4, GC 1, aedes 1 (+ its stream 1), writev 2, ours 1 (+ its events 1), store 1, pino 1
    samples: [2, 2, 2, 2, 3, 4, 5, 6, 6, 8, 9, 10, 11],
    timeDeltas: Array(13).fill(1000),
}

test("the busy time is split by part, Node's frames counted for their caller and idle left out", () => {
    const b = budget(PROFILE)
    expect(b.windowMs).toBe(13)
    expect(b.busyMs).toBe(9)
    expect(Object.fromEntries(b.parts.map(p => [p.part, p.ms]))).toEqual({
        [PARTS.socketWrites]: 2,
        [PARTS.broker]: 2, // deliver and the stream under it
        [PARTS.ours]: 2, // onTelemetry and the emit under it
        [PARTS.gc]: 1,
        [PARTS.store]: 1,
        "package pino": 1,
    })
    expect(b.parts[0].share).toBeCloseTo(2 / 9)
    expect(b.functions[0]).toEqual({ name: "writev", ms: 2, share: 2 / 9 })
    expect(b.functions.map(f => f.name)).toContain("deliver aedes/lib/client.js:10")
    expect(b.functions.map(f => f.name)).toContain("onTelemetry server/controller-telemetry.ts") // no line: tsx's
})

test("a window keeps only the samples taken within it", () => {
    const b = budget(PROFILE, 0.0095, 0.0115) // the 10th and 11th samples (at 10 and 11 ms): ours and its emit
    expect(b.busyMs).toBe(2)
    expect(b.parts).toEqual([{ part: PARTS.ours, ms: 2, share: 1 }])
})

test("frames are sorted into parts by where their code lives", () => {
    expect(partOf({ functionName: "run", url: "file:///a/node_modules/better-sqlite3/lib/x.js" })).toBe(PARTS.store)
    expect(partOf({ functionName: "parse", url: "file:///a/node_modules/mqtt-packet/parser.js" })).toBe(PARTS.broker)
    expect(partOf({ functionName: "x", url: "file:///a/node_modules/@scope/pkg/i.js" })).toBe("package @scope/pkg")
    expect(partOf({ functionName: "(program)", url: "" })).toBe(PARTS.program)
    expect(partOf({ functionName: "emit", url: "node:events" })).toBeUndefined()
    expect(partOf({ functionName: "JSONParse", url: "" })).toBeUndefined() // native, not a write
})

const dir = mkdtempSync(join(tmpdir(), "nightlight-profile-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test("a real profile of a script busy in server/ puts most of its time there", () => {
    mkdirSync(join(dir, "server"))
    const script = join(dir, "server", "busy.mjs")
    // 1.2 s of CPU, not of the clock: on a loaded machine Node's start-up (about 0.2 s here) took a
    // third of a 0.3 s wall-clock spin
    writeFileSync(
        script,
        `function spin() { let x = 0; for (let i = 0; i < 1e5; i++) x += Math.sqrt(i); return x }
         let sum = 0; while (process.cpuUsage().user < 1.2e6) sum += spin(); if (sum < 0) console.log(sum)`
    )
    execFileSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, script])
    const file = readdirSync(dir).find(name => name.endsWith(".cpuprofile"))!
    const b = budget(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile)
    expect(b.busyMs).toBeGreaterThan(200)
    expect(b.parts[0].part).toBe(PARTS.ours)
    expect(b.parts[0].share).toBeGreaterThan(0.8)
    expect(b.functions[0].name).toMatch(/^spin server\/busy\.mjs:1$/)
    expect(formatBudget(b)).toMatch(/^busy \d+ ms of \d+ ms \(\d+% of a core\)\nby part:\n +\d+\.\d% {2}our server/)
})

test("a bundled server's frames go back to their sources: the store's time is the store's", async () => {
    const root = join(dir, "bundled")
    mkdirSync(join(root, "server", "store"), { recursive: true })
    writeFileSync(
        join(root, "server", "store", "write.ts"),
        `export function storeSpin(): number { let x = 0; for (let i = 0; i < 1e5; i++) x += Math.sqrt(i); return x }`
    )
    writeFileSync(
        join(root, "server", "main.ts"),
        `import { storeSpin } from "./store/write"
         let sum = 0; while (process.cpuUsage().user < 1.2e6) sum += storeSpin(); if (sum < 0) console.log(sum)`
    )
    const outfile = join(root, "dist", "server", "main.js")
    await build({
        entryPoints: [join(root, "server", "main.ts")],
        outfile,
        bundle: true,
        platform: "node",
        sourcemap: "linked",
        logLevel: "silent",
    })
    const profiles = join(root, "profiles")
    // no inlining, or V8 would count the store's function as part of its caller in main.ts
    execFileSync(process.execPath, [
        "--max-inlined-bytecode-size=0",
        "--cpu-prof",
        `--cpu-prof-dir=${profiles}`,
        outfile,
    ])
    const profile = JSON.parse(readFileSync(join(profiles, readdirSync(profiles)[0]), "utf8")) as CpuProfile

    expect(budget(profile).parts[0].part).toBe(PARTS.ours) // dist/server/main.js, as it ran
    const b = budget(withSources(profile))
    expect(b.parts[0].part).toBe(PARTS.store)
    expect(b.parts[0].share).toBeGreaterThan(0.8)
    expect(b.functions[0].name).toBe("storeSpin store/write.ts")
})
