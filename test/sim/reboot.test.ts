// A nightlight that reboots: a new boot id (its readings are new, not duplicates of the last boot's),
// the current state from the retained command at once, and no flash of a stale retained command.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { startServer, type RunningServer } from "../../server/app"
import { FirmwareLog } from "../helpers/firmware-log"
import { HOST, recordingLogger, within } from "../helpers/mqtt"
import { ledBecomes } from "../helpers/sim"

const DEVICE = "reboot-nightlight"

async function until(what: string, ms: number, condition: () => boolean): Promise<void> {
    await within(
        ms,
        what,
        (async () => {
            while (!condition()) await new Promise(r => setTimeout(r, 50))
        })()
    )
}

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

    it("gets a new boot id, counts its readings as new, and restores the LED from the retained command", async () => {
        const first = await boot(100)
        await ledBecomes(first.device, true, 15_000)
        const firstBoot = server.controller.device(DEVICE)!.boot
        await until("a few readings", 10_000, () => server.controller.device(DEVICE)!.lastSeq >= 3)

        const again = await boot(100)
        // the retained command switches the LED on before the first reading is even decided on
        await ledBecomes(again.device, true, 10_000)
        expect(again.firmware.matching(/^command \d+: LED on/).length).toBeGreaterThan(0)
        expect(again.firmware.matching(/^command \d+: LED off/).length).toBe(0)
        await until("the new boot's readings", 10_000, () => server.controller.device(DEVICE)!.boot !== firstBoot)
        await until("the new boot's second reading", 10_000, () => server.controller.device(DEVICE)!.lastSeq >= 2)
        expect(server.controller.device(DEVICE)).toMatchObject({ duplicates: 0, gaps: 0 })
    })

    it("does not flash a retained command that the light now contradicts", async () => {
        // it rebooted in daylight: the retained "on" is stale, the server's fresh "off" follows
        const again = await boot(900)
        await until(
            "the stale retained command to be refused",
            15_000,
            () => again.firmware.matching(/ignored retained command/).length > 0
        )
        await until("a reading decided on", 10_000, () => server.controller.device(DEVICE)!.ledOn === false)
        await new Promise(r => setTimeout(r, 500))
        expect(again.firmware.matching(/LED on/).length).toBe(0)
        expect(again.device.ledOn).toBe(false)
    })
})
