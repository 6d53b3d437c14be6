/**
 * The history across a restart of the server with its embedded broker, which forgets every retained ack:
 * readings a device sends again (it never got their ack) are stored once, because the store kept where
 * each device's link stood. (How a reading's time follows the device's clock: test/server/device/state.test.ts.)
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, expect, test } from "vitest"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { HOST, Inbox, closeClient, connectClient, freePort, recordingLogger, until } from "../helpers/mqtt"

let dir: string
let settings: ServerSettings
let server: RunningServer | undefined
let client: MqttClient | undefined
const { logger } = recordingLogger("silent")

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-restart-"))
    // a fixed port, so the "device" finds the restarted server where it was
    settings = { broker: { kind: "embedded", host: HOST, port: await freePort() }, threshold: 300, dataDir: dir }
})

afterAll(async () => {
    await closeClient(client)
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
})

/** Uptime of the simulated device at reading `seq`: one reading every 2 s since it booted. */
const uptime = (seq: number) => 10_000 + seq * 2000

async function send(seqs: number[], acks: Inbox): Promise<void> {
    for (const seq of seqs)
        client!.publish(
            "hall/telemetry",
            JSON.stringify({ light: 500 + seq, seq, boot: "b1", oldest: seqs[0], t: uptime(seq), led: false })
        )
    // the ack for the last one means all are stored
    for (;;) {
        const ack = JSON.parse((await acks.next()).payload) as { seq: number }
        if (ack.seq === seqs[seqs.length - 1]) return
    }
}

test("readings sent again after a restart are known as stored: no second copy", async () => {
    server = await startServer(settings, logger)
    client = await connectClient(server.brokerUrl)
    let acks = await Inbox.open(client, "hall/acks")
    await send([1, 2, 3, 4, 5], acks)
    const history = () =>
        server!.store.history
            .readings("hall", 0, Date.now() + 60_000, 1000)
            .readings.map(r => ({ t: r.t, light: r.light }))
    server.store.flush()
    const before = history()
    expect(before.map(r => r.light)).toEqual([501, 502, 503, 504, 505])

    await closeClient(client)
    await server.stop()
    server = await startServer(settings, logger)
    client = await connectClient(server.brokerUrl)
    acks = await Inbox.open(client, "hall/acks")
    // the device never got the ack for 4 and 5 (say): it sends them again with the new ones
    await send([4, 5, 6, 7], acks)
    await until("the duplicates counted", () => server!.controller.device("hall")?.duplicates === 2)
    server.store.flush()
    const after = history()
    expect(after.map(r => r.light)).toEqual([501, 502, 503, 504, 505, 506, 507])
    expect(after.slice(0, 5)).toEqual(before)
    expect(server.store.history.repeatedReadings).toBe(0) // known from the link, not found in the table
})
