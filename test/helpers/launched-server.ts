/**
 * Our server started as a person starts it in a terminal: through a launcher (`npm start`, `tsx`) in a
 * process group of its own, so that a test can send a signal to the whole group as Ctrl+C does, or to
 * the server process alone as a launcher passing it on does. Linux: the server is found in /proc.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { within } from "./mqtt"

export const ROOT = fileURLToPath(new URL("../..", import.meta.url))

export class LaunchedServer {
    readonly dataDir = mkdtempSync(join(tmpdir(), "nightlight-launched-"))
    private readonly child: ChildProcess
    private output = ""
    private readonly exited: Promise<number | string>
    private readonly sockets: Socket[] = []

    /** Runs `command args... --data-dir <temp>` in a new process group, in the repository. */
    constructor(command: string, args: string[]) {
        // The test's own NIGHTLIGHT_* variables must not leak into the server under test.
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NIGHTLIGHT_")))
        this.child = spawn(command, [...args, "--data-dir", this.dataDir], {
            cwd: ROOT,
            env: { ...env, NO_COLOR: "1", FORCE_COLOR: "0" },
            stdio: ["ignore", "pipe", "pipe"],
            detached: true,
        })
        for (const stream of [this.child.stdout!, this.child.stderr!])
            stream.setEncoding("utf8").on("data", (chunk: string) => (this.output += chunk))
        this.exited = once(this.child, "exit").then(([code, signal]) => (code ?? signal) as number | string)
    }

    get log(): string {
        return this.output
    }

    /** The first match of `pattern` in the output, within `ms`; rejects early if the launcher exits. */
    waitFor(pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
        return within(
            ms,
            `${pattern} in the output (so far: ${JSON.stringify(this.output.slice(-600))})`,
            new Promise<RegExpMatchArray>((resolve, reject) => {
                const check = () => {
                    const match = this.output.match(pattern)
                    if (match) resolve(match)
                }
                this.child.stdout!.on("data", check)
                this.child.stderr!.on("data", check)
                void this.exited.then(code => reject(new Error(`exited with ${code}: ${this.output.slice(-600)}`)))
                check()
            })
        )
    }

    /** What a terminal does on Ctrl+C: the signal to every process of the group. */
    signalGroup(signal: NodeJS.Signals): void {
        process.kill(-this.child.pid!, signal)
    }

    /** The server itself: the process of the group that started no other (the launchers did). */
    serverPid(): number {
        const group = processesInGroup(this.child.pid!)
        const parents = new Set(group.map(p => p.ppid))
        const leaves = group.filter(p => !parents.has(p.pid))
        if (leaves.length !== 1) throw new Error(`expected one server process, found ${JSON.stringify(group)}`)
        return leaves[0].pid
    }

    /** The launcher's exit code (or signal name), within `ms`. */
    exit(ms = 15_000): Promise<number | string> {
        return within(ms, "the launcher to exit", this.exited)
    }

    /**
     * Starts a request the server must answer before it stops (a PATCH whose body is still coming), so
     * the shutdown takes the HTTP server's grace period (HTTP_DEFAULTS.closeGraceMs, 1 s). Resolves once
     * the server answered a request sent after it, so the first one is being handled.
     */
    async holdRequest(httpUrl: string): Promise<void> {
        const { hostname, port } = new URL(httpUrl)
        const slow = await openSocket(hostname, Number(port))
        this.sockets.push(slow)
        slow.write(
            "PATCH /api/settings HTTP/1.1\r\nHost: nightlight\r\nContent-Type: application/json\r\n" +
                'Content-Length: 100\r\n\r\n{"threshold": '
        )
        const answered = await fetch(`${httpUrl}/api/settings`)
        await answered.arrayBuffer()
    }

    dataFiles(): string[] {
        return readdirSync(this.dataDir).sort()
    }

    cleanup(): void {
        for (const socket of this.sockets) socket.destroy()
        if (this.child.exitCode === null && this.child.signalCode === null) {
            try {
                process.kill(-this.child.pid!, "SIGKILL")
            } catch {
                // the group is gone already
            }
        }
        rmSync(this.dataDir, { recursive: true, force: true })
    }
}

function openSocket(host: string, port: number): Promise<Socket> {
    return within(
        5000,
        `a connection to ${host}:${port}`,
        new Promise<Socket>((resolve, reject) => {
            const socket = connect(port, host, () => resolve(socket))
            socket.once("error", reject)
        })
    )
}

/** pid and parent of each process whose process group is `pgid`, from /proc/<pid>/stat. */
function processesInGroup(pgid: number): { pid: number; ppid: number }[] {
    const found: { pid: number; ppid: number }[] = []
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue
        let stat: string
        try {
            stat = readFileSync(`/proc/${entry}/stat`, "utf8")
        } catch {
            continue // exited meanwhile
        }
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")"
        const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
        if (Number(pgrp) === pgid) found.push({ pid: Number(entry), ppid: Number(ppid) })
    }
    return found
}
