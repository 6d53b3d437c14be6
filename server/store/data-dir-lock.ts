/**
 * One server per data folder. A holder gone (pid not running here, or an earlier boot) is taken over, so
 * a SIGKILLed server does not keep the next out. Hard-linked into place: link() fails if the lock
 * exists, so two servers starting at once cannot both take it, and nobody reads half a lock.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { StoreError } from "./database"

export const DATA_DIR_LOCK_FILE = "server.lock"

export interface LockHolder {
    pid: number
    host: string
    /** Linux's boot id; absent elsewhere. */
    bootId?: string
    /** ms since 1970. */
    startedAt: number
}

export class DataDirLock {
    private released = false

    private constructor(
        readonly file: string,
        private readonly holder: LockHolder
    ) {}

    /** Throws a StoreError naming the holder; `stale` hears of a left-behind lock replaced. */
    static acquire(dataDir: string, stale: (holder: string) => void = () => undefined): DataDirLock {
        const file = join(dataDir, DATA_DIR_LOCK_FILE)
        const me: LockHolder = { pid: process.pid, host: hostname(), bootId: bootId(), startedAt: Date.now() }
        try {
            mkdirSync(dataDir, { recursive: true })
        } catch (err) {
            throw new StoreError(`cannot create the data folder ${dataDir}: ${(err as Error).message}`, dataDir)
        }
        const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`
        try {
            writeFileSync(temporary, `${JSON.stringify(me)}\n`, { mode: 0o644 })
            // a second round only after removing a stale lock; a lock that comes back meanwhile is live
            for (let round = 0; round < 2; round++) {
                try {
                    linkSync(temporary, file)
                    return new DataDirLock(file, me)
                } catch (err) {
                    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err
                }
                const holder = readHolder(file)
                if (holder !== undefined && isLive(holder))
                    throw new StoreError(
                        `the data folder ${dataDir} is in use by another nightlight server (${describe(holder)}). ` +
                            `Stop it, or use another --data-dir${holder.host === me.host ? "" : `; if that server is gone, delete ${file}`}`,
                        dataDir
                    )
                stale(holder === undefined ? `an unreadable ${file}` : `${file} of ${describe(holder)}, which is gone`)
                removeIfThere(file)
            }
            throw new StoreError(
                `the data folder ${dataDir} was locked by another server while this one started`,
                dataDir
            )
        } catch (err) {
            if (err instanceof StoreError) throw err
            throw new StoreError(`cannot lock the data folder ${dataDir} (${file}): ${(err as Error).message}`, dataDir)
        } finally {
            removeIfThere(temporary)
        }
    }

    /** Only if still ours; idempotent. */
    release(): void {
        if (this.released) return
        this.released = true
        const holder = readHolder(this.file)
        if (holder?.pid === this.holder.pid && holder.startedAt === this.holder.startedAt) removeIfThere(this.file)
    }
}

/** Already gone is fine: another server removed a stale lock first. */
function removeIfThere(file: string): void {
    try {
        unlinkSync(file)
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err
    }
}

function readHolder(file: string): LockHolder | undefined {
    try {
        const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<LockHolder>
        if (typeof parsed.pid !== "number" || typeof parsed.host !== "string") return undefined
        return { pid: parsed.pid, host: parsed.host, bootId: parsed.bootId, startedAt: Number(parsed.startedAt) }
    } catch {
        return undefined
    }
}

/** Whether the holder may still run: always for another host, which we cannot ask. */
function isLive(holder: LockHolder): boolean {
    if (holder.host !== hostname()) return true
    const boot = bootId()
    if (holder.bootId !== undefined && boot !== undefined && holder.bootId !== boot) return false
    try {
        process.kill(holder.pid, 0)
        return true
    } catch (err) {
        // EPERM: it runs, as another user
        return (err as NodeJS.ErrnoException).code === "EPERM"
    }
}

function describe(holder: LockHolder): string {
    const started = Number.isFinite(holder.startedAt) ? new Date(holder.startedAt).toISOString() : "at an unknown time"
    return `pid ${holder.pid} on ${holder.host}, started ${started}`
}

function bootId(): string | undefined {
    try {
        return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
    } catch {
        return undefined
    }
}
