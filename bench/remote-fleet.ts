/**
 * The bench's side of a fleet in its own process (fleet-process.ts): start it, connect and warm it up,
 * run a step there against the system's processes, close it. One request at a
 * time, each answered or timed out; the child is tracked (systems.ts), so Ctrl-C or an error kills it.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { FleetRequest } from "./fleet-process"
import type { ConfirmedBy } from "./load"
import type { StepRun } from "./report"
import { STEP } from "./step"
import { stopChild, track, type RunningSystem } from "./systems"

interface Reply {
    id?: number
    op?: string
    line?: string
    error?: string
    connectMs?: number
    answered?: number
    rssMB?: number
    run?: StepRun
}

/** Distributes the request types over their fields, so `ask` takes any request without its id. */
type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never

const SCRIPT = fileURLToPath(new URL("fleet-process.ts", import.meta.url))

export class RemoteFleet {
    private nextId = 1
    private readonly waiting = new Map<number, (reply: Reply) => void>()

    private constructor(
        private readonly child: ChildProcess,
        readonly devices: number,
        private readonly log: (line: string) => void
    ) {
        child.on("message", (reply: Reply) => {
            if (reply.op === "log" && reply.line) return log(reply.line)
            if (reply.id === undefined) return
            this.waiting.get(reply.id)?.(reply)
            this.waiting.delete(reply.id)
        })
        child.once("exit", code => {
            for (const settle of this.waiting.values()) settle({ error: `the fleet's process exited (${code})` })
            this.waiting.clear()
        })
    }

    static start(
        url: string,
        devices: number,
        prefix: string,
        confirmedBy: ConfirmedBy,
        log: (line: string) => void
    ): RemoteFleet {
        const args = ["--import", "tsx", SCRIPT, url, String(devices), prefix, confirmedBy]
        const child = track(spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe", "ipc"] }), "a fleet")
        return new RemoteFleet(child, devices, log)
    }

    get pid(): number {
        return this.child.pid!
    }

    /** Connects every device and warms them up; how long the connections took, and the process's RSS then. */
    async connect(): Promise<{ connectMs: number; answered: number; rssMB: number }> {
        const reply = await this.ask({ op: "connect" }, 60_000 + (this.devices / 1000) * 3000 + STEP.warmUpMs)
        return { connectMs: reply.connectMs ?? 0, answered: reply.answered ?? 0, rssMB: reply.rssMB ?? 0 }
    }

    async step(system: RunningSystem, rate: number, seconds: number): Promise<StepRun> {
        const bound = seconds * 1000 + STEP.confirmGraceMs + STEP.settleMs + 30_000
        const reply = await this.ask({ op: "step", pids: system.pids(), rate, seconds }, bound)
        return reply.run!
    }

    /** Closes the devices' connections, then the process. */
    async close(): Promise<void> {
        if (this.child.exitCode === null && this.child.signalCode === null)
            await this.ask({ op: "close" }, 10_000).catch(() => undefined)
        await stopChild(this.child)
    }

    private ask(request: Without<FleetRequest, "id">, ms: number): Promise<Reply> {
        const id = this.nextId++
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.waiting.delete(id)
                reject(new Error(`a fleet did not answer "${request.op}" within ${Math.round(ms / 1000)} s`))
            }, ms)
            this.waiting.set(id, reply => {
                clearTimeout(timer)
                if (reply.error) reject(new Error(`a fleet's "${request.op}" failed: ${reply.error}`))
                else resolve(reply)
            })
            this.child.send({ id, ...request })
        })
    }
}
