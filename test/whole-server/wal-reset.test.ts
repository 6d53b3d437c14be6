/**
 * A whole server with a database while the checkpoint worker resets the WAL (a RESTART holds SQLite's
 * write lock): acks wait for the store instead of the server's thread waiting in SQLite's busy handler.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Database from "better-sqlite3"
import type { MqttClient } from "mqtt"
import { afterEach, beforeEach, expect, test } from "vitest"
import { DATABASE_FILE, startServer, type RunningServer } from "../../server/app"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const DEVICE = "wal-reset"
const { logger } = recordingLogger("silent")

let dir: string
let server: RunningServer | undefined
let device: MqttClient | undefined
let reader: Database.Database | undefined

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-wal-reset-"))
})
afterEach(async () => {
    if (reader?.open) reader.close()
    if (device) await closeClient(device)
    await server?.stop()
    server = device = reader = undefined
    rmSync(dir, { recursive: true, force: true })
})

test("while a reader holds up the WAL's reset, the server's thread stays free and the ack follows the store", async () => {
    server = await startServer(
        { broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300, dataDir: dir },
        logger,
        // no reset but the test's; a hold long enough for a slow machine (a SQLite busy wait is 5 s)
        { checkpoints: { everyMs: 3_600_000, holdWritesMs: 3000 } }
    )
    // a 2 s silence timeout: acks a second apart
    server.controller.updateDeviceDefaults({ localAfterMs: 2000 })
    device = await connectClient(server.brokerUrl)
    const acks = await Inbox.open(device, `${DEVICE}/acks`)
    const reading = (seq: number) =>
        device!.publish(`${DEVICE}/telemetry`, JSON.stringify({ light: 800, seq, boot: "b1", oldest: seq }))
    const ackOf = async (seq: number) => {
        for (;;) {
            const ack = (await acks.nextJson()).json as { seq: number }
            if (ack.seq >= seq) return ack
        }
    }

    reading(1)
    expect(await ackOf(1)).toEqual({ boot: "b1", seq: 1 })
    // A reader on the snapshot of now; the next reading's commit goes past it, so a RESTART must wait for it.
    reader = new Database(join(dir, DATABASE_FILE), { readonly: true })
    reader.exec("BEGIN")
    reader.prepare("SELECT count(*) FROM readings").get()
    reading(2)
    expect(await ackOf(2)).toEqual({ boot: "b1", seq: 2 })
    await new Promise(r => setTimeout(r, 1100)) // the next ack is due at once

    const restart = server.store.checkpoint("RESTART")
    expect(server.store.writesWait).toBe(true)
    const sent = performance.now()
    reading(3)
    await until("reading 3 at the server", () => server!.controller.device(DEVICE)?.lastSeq === 3)
    // The ack's batch is due 20 ms after the reading. Had the server written it then, its thread would
    // have waited in SQLite's busy handler for the RESTART, which waits for the reader (5 s): this test,
    // on the same thread, would be seconds late, and the ack sent before the reader is closed below.
    await new Promise(r => setTimeout(r, 300))
    expect(performance.now() - sent).toBeLessThan(2000)
    expect(server.controller.stats().acksSent).toBe(2)
    reader.exec("COMMIT")
    reader.close()

    expect(await ackOf(3)).toEqual({ boot: "b1", seq: 3 })
    expect((await restart).busy).toBe(0) // the reset was made, not given up
    expect(server.store.writesWait).toBe(false)
    expect(server.controller.stats().acksFailed).toBe(0)
    // what was acknowledged is stored
    expect(server.store.registry.get(DEVICE)?.link?.acked).toBe(3)
}, 30_000)
