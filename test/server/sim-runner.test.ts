/**
 * The server's side of the simulated device: what it passes, and that no failure of the simulator can
 * take the server down. The device here is a stand-in class; the real one is tested in test/sim/.
 */
import { describe, expect, test } from "vitest"
import { SimulatorRunner, type SimulatedDevice, type SimulatorOptions } from "../../server/sim-runner"
import { recordingLogger } from "../helpers/mqtt"

function fakeDevice(behaviour: { start?: () => Promise<void>; stop?: () => Promise<void> } = {}) {
    const calls: string[] = []
    const created: SimulatorOptions[] = []
    class Device implements SimulatedDevice {
        constructor(options: SimulatorOptions) {
            created.push(options)
        }
        async start() {
            calls.push("start")
            await behaviour.start?.()
        }
        async stop() {
            calls.push("stop")
            await behaviour.stop?.()
        }
        setLight(light: number) {
            calls.push(`light ${light}`)
        }
    }
    return { Device, calls, created }
}

describe("SimulatorRunner", () => {
    test("starts one device on the server's broker, in daylight mode, and stops it", async () => {
        const { logger } = recordingLogger("silent")
        const { Device, calls, created } = fakeDevice()
        const load = async () => Device
        const runner = new SimulatorRunner({ brokerUrl: "mqtt://127.0.0.1:1", deviceId: "sim-1", logger, load })
        expect(await runner.start()).toBe(true)
        expect(created).toHaveLength(1)
        expect(created[0]).toMatchObject({ brokerUrl: "mqtt://127.0.0.1:1", deviceId: "sim-1", light: "daylight" })
        expect(typeof created[0].logger.info).toBe("function")
        expect(runner.setLight(100)).toBe(true) // the dashboard's slider
        await runner.stop()
        await runner.stop()
        expect(calls).toEqual(["start", "light 100", "stop"])
        expect(runner.setLight(200)).toBe(false) // stopped: nothing to set
    })

    test("passes the server's threshold and band (as the firmware's BAND setting)", async () => {
        const { logger } = recordingLogger("silent")
        const { Device, created } = fakeDevice()
        const options = { brokerUrl: "mqtt://127.0.0.1:1", deviceId: "sim-1", logger, load: async () => Device }
        const runner = new SimulatorRunner({ ...options, threshold: 250, band: 40 })
        await runner.start()
        expect(created[0]).toMatchObject({ threshold: 250, settings: { BAND: 40 } })
        await runner.stop()
        const plain = new SimulatorRunner(options)
        await plain.start()
        expect(created[1].settings).toBeUndefined()
        await plain.stop()
    })

    test("a module that cannot be loaded is logged in one line, not thrown", async () => {
        const { logger, lines } = recordingLogger("info")
        const missing = Object.assign(new Error("Cannot find module '/x/sim/device'"), { code: "ERR_MODULE_NOT_FOUND" })
        const runner = new SimulatorRunner({
            brokerUrl: "mqtt://127.0.0.1:1",
            deviceId: "sim-1",
            logger,
            load: () => Promise.reject(missing),
        })
        expect(await runner.start()).toBe(false)
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(/ERROR: could not load the simulated nightlight: Cannot find module.*keeps running/)
        await runner.stop()
    })

    test("a device whose start fails is logged and cleaned up", async () => {
        const { logger, lines } = recordingLogger("info")
        const { Device, calls } = fakeDevice({ start: () => Promise.reject(new Error("devtools port busy")) })
        const runner = new SimulatorRunner({ brokerUrl: "mqtt://h:1", deviceId: "d", logger, load: async () => Device })
        expect(await runner.start()).toBe(false)
        expect(calls).toEqual(["start", "stop"])
        expect(lines.join("")).toMatch(/did not start.*devtools port busy/s)
    })

    test("stop() during a slow start stops the device and reports nothing as an error", async () => {
        const { logger, lines } = recordingLogger("info")
        let failStart: (e: Error) => void = () => undefined
        const { Device, calls } = fakeDevice({
            start: () => new Promise((_, reject) => (failStart = reject)),
            stop: async () => failStart(new Error("killed")),
        })
        const runner = new SimulatorRunner({ brokerUrl: "mqtt://h:1", deviceId: "d", logger, load: async () => Device })
        const started = runner.start()
        await new Promise(resolve => setImmediate(resolve))
        await runner.stop()
        expect(await started).toBe(false)
        expect(calls).toEqual(["start", "stop"])
        expect(lines.join("")).not.toContain("ERROR")
    })

    test("a device that never stops is given up on after the timeout", async () => {
        const { logger, lines } = recordingLogger("info")
        const { Device } = fakeDevice({ stop: () => new Promise(() => undefined) })
        const runner = new SimulatorRunner({
            brokerUrl: "mqtt://h:1",
            deviceId: "d",
            logger,
            load: async () => Device,
            stopTimeoutMs: 50,
        })
        await runner.start()
        await runner.stop()
        expect(lines.join("")).toMatch(/did not stop within 0.05 s/)
    })
})
