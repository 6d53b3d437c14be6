/**
 * Two servers on one data folder would both write its database and its files. The second must refuse
 * to start, naming the folder and the server that holds it; a server killed with SIGKILL (which
 * cleans nothing up) must not keep the next one out.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, test } from "vitest"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { StoreError } from "../../server/store"
import { DATA_DIR_LOCK_FILE } from "../../server/store/data-dir-lock"
import { HOST, recordingLogger } from "../helpers/mqtt"
import { ServerProcess } from "../helpers/server-process"

const { logger } = recordingLogger("silent")
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function settingsFor(dataDir: string): ServerSettings {
    return { broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300, dataDir }
}

async function started(dataDir: string): Promise<RunningServer> {
    const server = await startServer(settingsFor(dataDir), logger)
    cleanups.push(() => server.stop())
    return server
}

function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "nightlight-lock-"))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    return dir
}

describe("one server per data folder", () => {
    test("a second server in this process is refused, naming the folder and the holder; a clean stop frees it", async () => {
        const dir = tempDir()
        const first = await startServer(settingsFor(dir), logger)
        const refusal = startServer(settingsFor(dir), logger)
        await expect(refusal).rejects.toThrow(dir)
        await expect(refusal).rejects.toThrow(new RegExp(`pid ${process.pid} on ${hostname()}`))
        await first.stop()
        expect(existsSync(join(dir, DATA_DIR_LOCK_FILE))).toBe(false)
        await started(dir)
    })

    test("a second server process exits with one line; a server killed with SIGKILL leaves no lock that counts", async () => {
        const holder = new ServerProcess(["--mqtt-port", "0", "--no-sim"])
        cleanups.push(() => holder.cleanup())
        cleanups.push(async () => void (await holder.stop("SIGKILL")))
        holder.start()
        await holder.waitFor(/MQTT broker listening/)

        const second = new ServerProcess(["--mqtt-port", "0", "--no-sim", "--data-dir", holder.dataDir])
        cleanups.push(() => second.cleanup())
        second.start()
        expect(await second.exitCode()).toBe(1)
        expect(second.log).toContain(holder.dataDir)
        expect(second.log).toMatch(/is in use by another nightlight server \(pid \d+ on /)
        expect(second.log).toContain(`pid ${holder.pid} on ${hostname()}`)

        await holder.stop("SIGKILL")
        expect(existsSync(join(holder.dataDir, DATA_DIR_LOCK_FILE))).toBe(true)
        await started(holder.dataDir)
    })

    test("a lock from another boot of this machine, or a broken one, does not count; another host's does", async () => {
        const dir = tempDir()
        const lock = join(dir, DATA_DIR_LOCK_FILE)
        writeFileSync(
            lock,
            JSON.stringify({ pid: process.pid, host: hostname(), bootId: "another-boot", startedAt: 0 })
        )
        await (await startServer(settingsFor(dir), logger)).stop()
        writeFileSync(lock, "{half a")
        await (await startServer(settingsFor(dir), logger)).stop()
        writeFileSync(lock, JSON.stringify({ pid: 1, host: "elsewhere.example", startedAt: Date.UTC(2026, 0, 2) }))
        await expect(startServer(settingsFor(dir), logger)).rejects.toThrow(
            /pid 1 on elsewhere\.example, started 2026-01-02T00:00:00\.000Z.*delete .*server\.lock/
        )
    })

    test("a data folder that cannot be made is one clear error, not a stack trace", async () => {
        const file = join(tempDir(), "a-file")
        writeFileSync(file, "")
        const refusal = startServer(settingsFor(join(file, "data")), logger)
        await expect(refusal).rejects.toThrow(StoreError)
        await expect(refusal).rejects.toThrow(`cannot create the data folder ${join(file, "data")}`)
    })
})
