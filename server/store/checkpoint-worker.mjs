// The worker thread of BackgroundCheckpoints (checkpoints.ts): its own connection to the server's
// database, which copies the WAL into the database file when asked, off the server's event loop.
// Plain JavaScript: a worker thread loads it as it is, with no TypeScript loader (tsx, vitest) in it.
import Database from "better-sqlite3"
import { parentPort, workerData } from "node:worker_threads"

const db = new Database(workerData.path, { fileMustExist: true })
db.pragma(`busy_timeout = ${workerData.busyTimeoutMs}`)
db.pragma(`journal_size_limit = ${workerData.journalSizeLimit}`)

parentPort.on("message", message => {
    if (message.stop) {
        db.close()
        parentPort.close()
        return
    }
    try {
        // [{ busy, log, checkpointed }]: log = frames in the WAL, checkpointed = frames copied back.
        const [result] = db.pragma(`wal_checkpoint(${message.mode})`)
        parentPort.postMessage({ id: message.id, result })
    } catch (err) {
        parentPort.postMessage({ id: message.id, error: err instanceof Error ? err.message : String(err) })
    }
})
parentPort.postMessage({ ready: true })
