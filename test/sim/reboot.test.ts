// A nightlight that reboots: a new boot id (its readings are new, not duplicates of the last boot's),
// the current state from the retained command at once, and no flash of a stale retained command.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { startServer, type RunningServer } from "../../server/app"
import { FirmwareLog } from "../helpers/firmware-log"
import { HOST, recordingLogger, until } from "../helpers/mqtt"
import { ledBecomes } from "../helpers/sim"

const DEVICE = "reboot-nightlight"

describe("a device that reboots", () => {
    let server: RunningServer
    let device: SimulatedNightlight | undefined
    const { logger } = recordingLogger("silent")

    async function boot(light: number): Promise<{ device: SimulatedNightlight; firmware: FirmwareLog }> {
        await device?.stop()
        device = new SimulatedNightlight({ brokerUrl: server.brokerUrl, deviceId: DEVICE, light })
        const firmware = new FirmwareLog(device)
        await device.start()
        return { device, firmware }
    }

    beforeAll(async () => {
        server = await startServer({ broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300 }, logger)
    })

    afterAll(async () => {
        await device?.stop()
        await server?.stop()
    })

    it("goes offline by its will, comes back with a new boot id, and gets its LED from the retained command", async () => {
        const first = await boot(100)
        await ledBecomes(first.device, true, 15_000)
        const firstBoot = server.controller.device(DEVICE)!.boot
        await until("a few readings", () => server.controller.device(DEVICE)!.lastSeq >= 3, 10_000)
        expect(server.controller.device(DEVICE)!.online).toBe(true)
        // power off: the broker publishes the device's retained last will
        await first.device.stop()
        await until("the last will: offline", () => server.controller.device(DEVICE)!.online === false, 10_000)

        const again = await boot(100)
        // the retained command switches the LED on before the first reading is even decided on
        await ledBecomes(again.device, true, 10_000)
        expect(again.firmware.matching(/^command \d+: LED on/).length).toBeGreaterThan(0)
        expect(again.firmware.matching(/^command \d+: LED off/).length).toBe(0)
        await until("the new boot's readings", () => server.controller.device(DEVICE)!.boot !== firstBoot, 10_000)
        await until("the new boot's second reading", () => server.controller.device(DEVICE)!.lastSeq >= 2, 10_000)
        expect(server.controller.device(DEVICE)).toMatchObject({ duplicates: 0, gaps: 0 })
    })

    it("does not flash a retained command that the light now contradicts", async () => {
        // it rebooted in daylight: the retained "on" is stale, the server's fresh "off" follows
        const again = await boot(900)
        await until(
            "the stale retained command to be refused",
            () => again.firmware.matching(/retained command \d+ not applied: stale/).length > 0,
            15_000
        )
        await until("a reading decided on", () => server.controller.device(DEVICE)!.ledOn === false, 10_000)
        await new Promise(r => setTimeout(r, 500))
        expect(again.firmware.matching(/LED on/).length).toBe(0)
        expect(again.device.ledOn).toBe(false)
    })

    it("keeps a person's switch across a reboot: the retained manual command is applied at once", async () => {
        // daylight, and someone switched the LED on (Home Assistant, the API)
        const before = await boot(900)
        await until("a reading decided on", () => server.controller.device(DEVICE)?.ledOn === false, 15_000)
        expect(server.controller.override(DEVICE, true)).toBe(true)
        await ledBecomes(before.device, true, 5000)
        const manualSeq = server.controller.device(DEVICE)!.commandSeq
        const again = await boot(900)
        await ledBecomes(again.device, true, 10_000)
        // the retained command itself, not a fresh one the server sent after the first reading
        expect(again.firmware.matching(new RegExp(`^command ${manualSeq}: LED on`)).length).toBe(1)
        expect(again.firmware.matching(/retained command \d+ not applied: stale/).length).toBe(0)
        await until("the new boot's second reading", () => server.controller.device(DEVICE)!.lastSeq >= 2, 10_000)
        expect(again.device.ledOn).toBe(true) // it holds
    })
})
