/** Child processes of the DeviceScript CLI (devtools, VM), with line-by-line output and clean stop. */
import { type ChildProcess, spawn } from "node:child_process"
import { connect } from "node:net"
import { createInterface } from "node:readline"
import { devsCli, projectRoot } from "./paths"

export interface DevsProcess {
    readonly child: ChildProcess
    /** Resolves with the exit code (or signal name) when the process ends. */
    readonly exited: Promise<number | string>
    /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
    stop(graceMs?: number): Promise<void>
}

export function spawnDevs(args: string[], onLine: (line: string) => void): DevsProcess {
    const child = spawn(process.execPath, [devsCli, ...args], {
        cwd: projectRoot,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    })
    for (const stream of [child.stdout!, child.stderr!])
        createInterface({ input: stream }).on("line", line => onLine(stripAnsi(line)))
    const exited = new Promise<number | string>(resolve =>
        child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
    )
    return {
        child,
        exited,
        async stop(graceMs = 2000) {
            if (child.exitCode !== null || child.signalCode !== null) return
            child.kill("SIGTERM")
            const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
            await exited
            clearTimeout(timer)
        },
    }
}

/** A finished devs command: its exit code (null when killed) and its output, without colours. */
export interface DevsRun {
    code: number | null
    output: string
}

/** Runs a devs command to completion, collecting its output; kills it after `timeoutMs`. */
export function runDevs(args: string[], timeoutMs = 120_000): Promise<DevsRun> {
    return new Promise((resolve, reject) => {
        let output = ""
        const child = spawnDevs(args, line => (output += `${line}\n`))
        const timer = setTimeout(() => child.child.kill("SIGKILL"), timeoutMs)
        child.child.once("error", reject)
        // "close", not "exit": the output streams are drained by then
        child.child.once("close", code => {
            clearTimeout(timer)
            resolve({ code, output })
        })
    })
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portIsOpen(port: number): Promise<boolean> {
    return new Promise(resolve => {
        const socket = connect({ host: "127.0.0.1", port })
        socket.once("connect", () => {
            socket.destroy()
            resolve(true)
        })
        socket.once("error", () => resolve(false))
    })
}

/** Polls until the port accepts connections; rejects after `timeoutMs` or when `abort` settles first. */
export async function waitForPort(port: number, timeoutMs: number, abort?: Promise<unknown>): Promise<void> {
    let aborted = false
    const stop = () => (aborted = true)
    abort?.then(stop, stop)
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && !aborted) {
        if (await portIsOpen(port)) return
        await new Promise(r => setTimeout(r, 100))
    }
    throw new Error(
        aborted ? `process ended before port ${port} opened` : `port ${port} did not open in ${timeoutMs} ms`
    )
}

function stripAnsi(text: string): string {
    return text.replace(/\u001b\[[0-9;]*m/g, "")
}
