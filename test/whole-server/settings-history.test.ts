/**
 * The threshold and band as they were: the history endpoint returns each change with its time, so the
 * chart draws the band of the past as it was then, also after the server restarted (a real server on a
 * temp data folder, real MQTT and HTTP). The log stays small however often the settings change.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, onTestFinished, test } from "vitest"
import type { HistoryResponse, RuleSettings } from "../../server/http/api-types"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { openDatabase, type Db } from "../../server/store/database"
import { SETTINGS_LOG_DEFAULTS, SettingsLog } from "../../server/store/settings-log"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const { logger } = recordingLogger("silent")
let dir: string
let server: RunningServer | undefined
let db: Db | undefined

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-settings-history-"))
})
afterEach(async () => {
    await server?.stop()
    server = undefined
    db?.close()
    db = undefined
    rmSync(dir, { recursive: true, force: true })
})

const settings = (): ServerSettings => ({
    broker: { kind: "embedded", host: HOST, port: 0 },
    threshold: 300,
    band: 100,
    dataDir: dir,
    http: { enabled: true, host: HOST, port: 0 },
})

async function history(from: number, to: number): Promise<HistoryResponse> {
    const response = await fetch(`${server!.http!.url}/api/devices/hall/history?from=${from}&to=${to}&points=100`)
    expect(response.status).toBe(200)
    return (await response.json()) as HistoryResponse
}

async function patchSettings(patch: Partial<RuleSettings>): Promise<void> {
    const response = await fetch(`${server!.http!.url}/api/settings`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(patch),
    })
    expect(response.status).toBe(200)
}

test("yesterday's band as it was: each change with its time, kept across a restart", async () => {
    // the change follows the start within ms here, where a user's takes seconds
    const mergeWithinMs = SETTINGS_LOG_DEFAULTS.mergeWithinMs
    SETTINGS_LOG_DEFAULTS.mergeWithinMs = 0
    onTestFinished(() => {
        SETTINGS_LOG_DEFAULTS.mergeWithinMs = mergeWithinMs
    })
    const started = Date.now()
    server = await startServer(settings(), logger)
    const device = await connectClient(server.brokerUrl)
    device.publish("hall/telemetry", JSON.stringify({ light: 250 }))
    await until("the server knows hall", () => server!.store.registry.peek("hall") !== undefined)
    await closeClient(device)
    const beforeChange = Date.now()
    await new Promise(resolve => setTimeout(resolve, 5)) // the change gets a later ms than beforeChange
    await patchSettings({ threshold: 600 })
    const changed = Date.now()

    await server.stop()
    server = await startServer(settings(), logger)
    // the restarted server goes on with the run-time change (600), and still knows the 300 of before
    const all = await history(started - 60_000, Date.now())
    expect(all.settings).toEqual({ threshold: 600, band: 100 })
    expect(all.settingsHistory!.map(({ threshold, band }) => ({ threshold, band }))).toEqual([
        { threshold: 300, band: 100 },
        { threshold: 600, band: 100 },
    ])
    const [first, second] = all.settingsHistory!
    expect(first.t).toBeGreaterThanOrEqual(started)
    expect(first.t).toBeLessThanOrEqual(beforeChange)
    expect(second.t).toBeGreaterThan(beforeChange)
    expect(second.t).toBeLessThanOrEqual(changed)

    // a range before the change: the rule in force then, dated when it began
    const before = await history(beforeChange, beforeChange + 1)
    expect(before.settingsHistory).toEqual([first])
    // a range before anything on record: nothing to draw
    expect((await history(started - 60_000, started - 30_000)).settingsHistory).toEqual([])
})

test("the log stays small: changes within a second replace each other, an undone change leaves nothing", () => {
    db = openDatabase(join(dir, "nightlight.db"))
    const log = new SettingsLog(db)
    const t0 = 1_700_000_000_000
    log.record(t0, { threshold: 300, band: 100 })
    // a script that PATCHes 500 times, 10 ms apart: one row for the burst
    for (let i = 1; i <= 500; i++) log.record(t0 + 10_000 + i * 10, { threshold: 300 + i, band: 100 })
    expect(log.between(0, t0 + 20_000)).toEqual([
        { t: t0, threshold: 300, band: 100 },
        { t: t0 + 15_000, threshold: 800, band: 100 },
    ])
    const rows = () => db!.prepare("SELECT count(*) FROM settings_changes").pluck().get()
    expect(rows()).toBe(2)
    // the same rule again adds nothing; a change undone within the second leaves the rule before it
    log.record(t0 + 30_000, { threshold: 800, band: 100 })
    log.record(t0 + 40_000, { threshold: 350, band: 100 })
    log.record(t0 + 40_000 + SETTINGS_LOG_DEFAULTS.mergeWithinMs - 1, { threshold: 800, band: 100 })
    expect(rows()).toBe(2)
})

test("pruning keeps the change still in force at the cutoff", () => {
    db = openDatabase(join(dir, "nightlight.db"))
    const log = new SettingsLog(db)
    for (const [t, threshold] of [
        [1000, 100],
        [5000, 200],
        [9000, 300],
    ])
        log.record(t, { threshold, band: 50 })
    expect(log.prune(8000)).toBe(1)
    expect(log.between(8000, 10_000)).toEqual([
        { t: 5000, threshold: 200, band: 50 },
        { t: 9000, threshold: 300, band: 50 },
    ])
})
