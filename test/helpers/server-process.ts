/**
 * Our server as a child process (`tsx server/main.ts`), for tests that need a real process: several
 * servers side by side, or one killed with SIGKILL. Each gets its own data folder; its output is kept,
 * and waitFor() waits on a line of it.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { within } from "./mqtt"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

/** Node arguments for a server whose memory() a test reads (memory-probe.mjs). */
export const MEMORY_PROBE_ARGS = [
    "--expose-gc",
    "--import",
    fileURLToPath(new URL("./memory-probe.mjs", import.meta.url)),
]

export class ServerProcess {
    readonly dataDir = mkdtempSync(join(tmpdir(), "nightlight-server-"))
    private child?: ChildProcess
    private output = ""
    private exited?: Promise<number | string>

    /**
     * `dashboard`: also serve the dashboard (on a free port unless `args` say otherwise). `nodeArgs`:
     * options for Node itself (e.g. V8's heap sizes), before the server's own.
     */
    constructor(
        private readonly args: string[],
        private readonly options: { dashboard?: boolean; nodeArgs?: string[] } = {}
    ) {}

    get databasePath(): string {
        return join(this.dataDir, "nightlight.db")
    }

    get log(): string {
        return this.output
    }

    /**
     * The server's memory after a full garbage collection (bytes): its own, not the test's. Needs the
     * server started with MEMORY_PROBE_ARGS as its Node arguments.
     */
    async memory(): Promise<NodeJS.MemoryUsage> {
        const child = this.child
        if (!child) throw new Error("the server is not started")
        const from = this.output.length
        child.kill("SIGUSR2")
        const pattern = /MEMORY (\{[^\n]*\})\n/g
        pattern.lastIndex = from
        await within(
            10_000,
            "the server's memory line",
            (async () => {
                while (!pattern.test(this.output)) {
                    pattern.lastIndex = from
                    await new Promise(r => setTimeout(r, 20))
                }
            })()
        )
        pattern.lastIndex = from
        return JSON.parse(pattern.exec(this.output)![1]) as NodeJS.MemoryUsage
    }

    /** The child's process id, once started. */
    get pid(): number | undefined {
        return this.child?.pid
    }

    /** The exit code (or signal) of a server that stops by itself, within `ms`. */
    exitCode(ms = 20_000): Promise<number | string> {
        return within(ms, `the server to exit (so far: ${JSON.stringify(this.output.slice(-600))})`, this.exited!)
    }

    start(): void {
        // The test's own NIGHTLIGHT_* variables must not leak into the server under test.
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NIGHTLIGHT_")))
        const dashboard = this.options.dashboard ? ["--http-port", "0"] : ["--no-dashboard"]
        const args = [
            ...(this.options.nodeArgs ?? []),
            "--import",
            "tsx",
            "server/main.ts",
            "--data-dir",
            this.dataDir,
            ...dashboard,
            ...this.args,
        ]
        const child = spawn(process.execPath, args, {
            cwd: ROOT,
            env: { ...env, NO_COLOR: "1", FORCE_COLOR: "0" },
            stdio: ["ignore", "pipe", "pipe"],
        })
        this.child = child
        for (const stream of [child.stdout!, child.stderr!])
            stream.setEncoding("utf8").on("data", (chunk: string) => (this.output += chunk))
        this.exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string)
    }

    /** The first match of `pattern` in the output, within `ms`; rejects early if the server exits. */
    async waitFor(pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
        const child = this.child!
        return within(
            ms,
            `${pattern} in the server's output (so far: ${JSON.stringify(this.output.slice(-600))})`,
            new Promise<RegExpMatchArray>((resolve, reject) => {
                const check = () => {
                    const match = this.output.match(pattern)
                    if (match) resolve(match)
                }
                child.stdout!.on("data", check)
                child.stderr!.on("data", check)
                void this.exited!.then(code => reject(new Error(`exited with ${code}: ${this.output.slice(-600)}`)))
                check()
            })
        )
    }

    /** SIGTERM (a clean stop: acks waiting go out, the store is written) or SIGKILL; waits for the exit. */
    async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<number | string | undefined> {
        const child = this.child
        if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? undefined
        child.kill(signal)
        try {
            return await within(10_000, "the server process to exit", this.exited!)
        } catch {
            child.kill("SIGKILL")
            return this.exited
        }
    }

    cleanup(): void {
        rmSync(this.dataDir, { recursive: true, force: true })
    }
}
