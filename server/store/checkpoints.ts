/**
 * WAL checkpoints off the event loop: SQLite runs one inside the commit that reaches 1000 pages, stopping
 * the server (bench/README.md). A worker runs PASSIVE ones, and RESTART past restartAbovePages, since
 * under steady writes passive ones never catch up and the WAL would grow for ever. A RESTART holds
 * SQLite's write lock: `holdsWrites` tells the server to keep its writes back meanwhile.
 */
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { projectRoot } from "../util/project-root"
import type { Db } from "./database"

export interface CheckpointSettings {
    /** ms between two passive checkpoints */
    everyMs: number
    /** Beyond this many pages in the WAL (4 KiB each), a RESTART checkpoint follows the passive one. */
    restartAbovePages: number
    /** ms at most that `holdsWrites` stays true for one RESTART: past it the server writes, and waits. */
    holdWritesMs: number
}

export const CHECKPOINTS: Readonly<CheckpointSettings> = {
    everyMs: 1000,
    restartAbovePages: 16384, // 64 MiB (the journal_size_limit): every 7 s or so at 5000 readings/s
    holdWritesMs: 250, // ms: well past a RESTART's own time; a reader can hold one up for busy_timeout
}

/** A file of its own, not bundled: the server's bundle (dist/server/main.js) runs it from here too. */
const WORKER_SCRIPT = pathToFileURL(`${projectRoot}/server/store/checkpoint-worker.mjs`)

/** SQLite's default automatic checkpoint (pages): the connection's own, while no worker runs. */
const AUTO_CHECKPOINT_PAGES = 1000

/** `PRAGMA wal_checkpoint`'s row. */
export interface CheckpointResult {
    busy: number
    log: number
    checkpointed: number
}

export type CheckpointMode = "PASSIVE" | "RESTART" | "TRUNCATE"

interface Reply {
    id?: number
    ready?: true
    result?: CheckpointResult
    error?: string
}

export interface CheckpointOptions extends Partial<CheckpointSettings> {
    /** Default server/store/checkpoint-worker.mjs. */
    script?: URL
}

export interface BackgroundCheckpointsOptions extends CheckpointOptions {
    busyTimeoutMs: number
    journalSizeLimit: number
    /** Hears the worker's failures; the server's connection then checkpoints by itself. */
    onError?: (err: Error) => void
}

export class BackgroundCheckpoints {
    private worker: Worker | undefined
    private timer: NodeJS.Timeout | undefined
    private nextId = 0
    /** RESTART or TRUNCATE checkpoints asked for and not answered yet, and when the first of them was. */
    private resets = 0
    private resetsSince = 0
    private readonly waiting = new Map<number, { resolve: (r: CheckpointResult) => void; reject: (e: Error) => void }>()

    constructor(
        private readonly db: Db,
        private readonly options: BackgroundCheckpointsOptions
    ) {}

    start(): void {
        if (this.worker) return
        const worker = new Worker(this.options.script ?? WORKER_SCRIPT, {
            workerData: {
                path: this.db.name,
                busyTimeoutMs: this.options.busyTimeoutMs,
                journalSizeLimit: this.options.journalSizeLimit,
            },
        })
        worker.unref()
        worker.on("message", (reply: Reply) => this.onReply(reply))
        worker.on("error", err => this.fail(err))
        worker.on("exit", code => {
            if (this.worker === worker) this.fail(new Error(`the checkpoint worker exited (code ${code})`))
        })
        this.worker = worker
        this.db.pragma("wal_autocheckpoint = 0")
    }

    /**
     * True while the worker runs a RESTART or TRUNCATE, which holds SQLite's write lock: a write of the
     * server would wait for it in SQLite's busy handler, with the event loop stopped.
     */
    get holdsWrites(): boolean {
        const limit = this.options.holdWritesMs ?? CHECKPOINTS.holdWritesMs
        return this.resets > 0 && performance.now() - this.resetsSince < limit
    }

    /** Rejects when the worker is gone. */
    checkpoint(mode: CheckpointMode = "PASSIVE"): Promise<CheckpointResult> {
        const worker = this.worker
        if (!worker) return Promise.reject(new Error("the checkpoint worker is not running"))
        const id = this.nextId++
        const reset = mode !== "PASSIVE"
        if (reset && this.resets++ === 0) this.resetsSince = performance.now()
        const answered = () => {
            if (reset) this.resets = Math.max(0, this.resets - 1)
        }
        return new Promise((resolve, reject) => {
            this.waiting.set(id, {
                resolve: result => {
                    answered()
                    resolve(result)
                },
                reject: err => {
                    answered()
                    reject(err)
                },
            })
            worker.postMessage({ id, mode })
        })
    }

    /** Gives the checkpoints back to the connection. */
    stop(): void {
        const worker = this.worker
        if (!worker) return
        this.worker = undefined
        clearTimeout(this.timer)
        worker.postMessage({ stop: true })
        this.rejectWaiting(new Error("the checkpoint worker stopped"))
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`)
    }

    private onReply(reply: Reply): void {
        if (reply.ready) return this.schedule()
        const waiter = reply.id === undefined ? undefined : this.waiting.get(reply.id)
        if (!waiter) return
        this.waiting.delete(reply.id!)
        if (reply.error !== undefined) waiter.reject(new Error(reply.error))
        else waiter.resolve(reply.result!)
    }

    private schedule(): void {
        if (!this.worker) return
        this.timer = setTimeout(() => void this.round(), this.options.everyMs ?? CHECKPOINTS.everyMs)
        this.timer.unref()
    }

    /** The next round is timed from this one's end. */
    private async round(): Promise<void> {
        try {
            const passive = await this.checkpoint("PASSIVE")
            if (passive.log > (this.options.restartAbovePages ?? CHECKPOINTS.restartAbovePages))
                await this.checkpoint("RESTART")
        } catch (err) {
            if (this.worker) this.options.onError?.(err as Error)
        } finally {
            this.schedule()
        }
    }

    private fail(err: Error): void {
        if (!this.worker) return
        this.worker = undefined
        clearTimeout(this.timer)
        this.rejectWaiting(err)
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`)
        this.options.onError?.(new Error(`WAL checkpoints are back on the server's thread: ${err.message}`))
    }

    private rejectWaiting(err: Error): void {
        for (const { reject } of this.waiting.values()) reject(err)
        this.waiting.clear()
    }
}
