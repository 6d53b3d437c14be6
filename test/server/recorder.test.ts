/**
 * When the recorder writes what it buffered (server/recorder.ts): by size under load, so each write stays
 * short, and at least once a second otherwise, so a slow trickle does not cost a write every 100 ms.
 * A real (in-memory) store, fake time; what counts is what the history's queries see (flushed rows).
 */
import { EventEmitter } from "node:events"
import { afterEach, beforeEach, expect, test, vi } from "vitest"
import type { NightlightServer } from "../../server/controller/nightlight-server"
import type { TelemetryEvent } from "../../server/controller/events"
import { RECORDER_DEFAULTS, Recorder } from "../../server/recorder"
import { Store } from "../../server/store/index"
import { recordingLogger } from "../helpers/mqtt"

const T0 = Date.UTC(2025, 0, 1)
let controller: EventEmitter
let store: Store
let recorder: Recorder

beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
    controller = new EventEmitter()
    store = new Store(":memory:", { pruneEveryMs: 0 })
    store.open()
    recorder = new Recorder(controller as unknown as NightlightServer, store, recordingLogger("silent").logger)
    recorder.start()
})
afterEach(() => {
    recorder.stop()
    store.close()
    vi.useRealTimers()
})

const reading = (deviceId: string, light = 500): void => {
    const e: TelemetryEvent = {
        deviceId,
        light,
        at: Date.now(),
        reportedLed: false,
        local: false,
        ledOn: false,
        duplicate: false,
    }
    controller.emit("telemetry", e)
}
const stored = (deviceId: string) => store.history.readings(deviceId, T0 - 1, T0 + 3_600_000, 100_000).readings.length

test("a trickle of readings is written once a second, not at every look", () => {
    reading("kitchen")
    vi.advanceTimersByTime(RECORDER_DEFAULTS.flushIntervalMs * 5)
    expect(stored("kitchen")).toBe(0)
    reading("kitchen")
    vi.advanceTimersByTime(RECORDER_DEFAULTS.maxFlushDelayMs - RECORDER_DEFAULTS.flushIntervalMs * 5)
    expect(stored("kitchen")).toBe(2)
})

test("once flushRows wait, they are written at the next look", () => {
    for (let i = 0; i < RECORDER_DEFAULTS.flushRows; i++) reading(`d${i}`)
    vi.advanceTimersByTime(RECORDER_DEFAULTS.flushIntervalMs)
    expect(stored("d0")).toBe(1)
    expect(stored(`d${RECORDER_DEFAULTS.flushRows - 1}`)).toBe(1)
})

test("each device's row is written within 10 s at a slow pace too: one registry part per 100 ms since the last write", () => {
    for (let i = 0; i < 300; i++) reading(`d${i}`, 500)
    vi.advanceTimersByTime(10_000) // their first rows: a device never written is in every part
    // then each reports once more, and all is quiet: a write a second, each with 10 of the 100 parts
    for (let i = 0; i < 300; i++) reading(`d${i}`, 700)
    const rowsWritten = vi.spyOn(store.registry, "writeDirty")
    const rows = () => rowsWritten.mock.calls.reduce((n, [taken]) => n + taken.size, 0)
    vi.advanceTimersByTime(RECORDER_DEFAULTS.maxFlushDelayMs)
    expect(rows()).toBeGreaterThan(0)
    expect(rows()).toBeLessThan(300)
    vi.advanceTimersByTime(10_000 - RECORDER_DEFAULTS.maxFlushDelayMs)
    expect(rows()).toBe(300)
})

test("while a write would wait for the WAL's reset, the timer's flush skips its turn; then all of it is written", () => {
    const waits = vi.spyOn(store, "writesWait", "get").mockReturnValue(true)
    for (let i = 0; i < RECORDER_DEFAULTS.flushRows; i++) reading(`d${i}`)
    vi.advanceTimersByTime(RECORDER_DEFAULTS.maxFlushDelayMs * 2)
    expect(stored("d0")).toBe(0)
    waits.mockReturnValue(false)
    vi.advanceTimersByTime(RECORDER_DEFAULTS.flushIntervalMs)
    expect(stored("d0")).toBe(1)
    expect(stored(`d${RECORDER_DEFAULTS.flushRows - 1}`)).toBe(1)
})
