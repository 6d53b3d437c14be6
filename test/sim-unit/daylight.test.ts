/**
 * The simulated device's light (sim/device.ts) between its day/night cycle and a held value: the
 * dashboard's slider holds it, "daylight" gives it back to the cycle, which carries on from its time of
 * day. Fake time; the device is not started (no VM): the light is what it would hand the virtual sensor.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest"
import { SimulatedNightlight, type SimLog } from "../../sim/device"
import { daylight } from "../../sim/daylight"

const CYCLE_MS = 60_000

beforeEach(() => {
    vi.useFakeTimers()
})
afterEach(() => {
    vi.useRealTimers()
})

describe("the simulated light", () => {
    test("held by the slider, then back to the cycle where the cycle is now; each switch is logged", async () => {
        const lines: string[] = []
        const logger: SimLog = {
            debug() {},
            info: m => lines.push(m),
            warn: m => lines.push(m),
            error: m => lines.push(m),
        }
        const device = new SimulatedNightlight({ brokerUrl: "mqtt://127.0.0.1:1", deviceId: "sim", light: 900, logger })
        device.setLight("daylight") // as if started in daylight mode
        expect(device.light).toBe(daylight(0, CYCLE_MS))
        await vi.advanceTimersByTimeAsync(10_000)
        expect(device.light).toBe(daylight(10_000, CYCLE_MS))

        device.setLight(100)
        await vi.advanceTimersByTimeAsync(20_000)
        expect(device.light).toBe(100) // held: the cycle does not move it
        expect(lines.at(-1)).toMatch(/light held at 100, the day\/night cycle paused .*"daylight"\} resumes it/)

        device.setLight("daylight")
        expect(device.light).toBe(daylight(30_000, CYCLE_MS)) // at once, at the cycle's time of day
        expect(lines.at(-1)).toMatch(/the light now follows the day\/night cycle/)
        await vi.advanceTimersByTimeAsync(5000)
        expect(device.light).toBe(daylight(35_000, CYCLE_MS))
        await device.stop()
    })
})
