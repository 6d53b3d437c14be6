// The firmware over TLS: the real firmware in the simulator (MQTT_PROTO=tls, from an mqtts:// broker URL)
// connects to the embedded broker's MQTTS listener, whose certificate a test CA signed, and its LED
// follows the light. The simulator's VM is Node.js, so it trusts the CA through NODE_EXTRA_CA_CERTS
// (docs/security.md); a board trusts public root CAs only.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { SimulatedNightlight } from "../../sim/device"
import { makeCa, makeServerCert } from "../helpers/certificates"
import { HOST, recordingLogger } from "../helpers/mqtt"
import { firstReading, ledBecomes } from "../helpers/sim"

const DEVICE = "tls-nightlight"

describe("the firmware over MQTTS", () => {
    const dir = mkdtempSync(join(tmpdir(), "nightlight-sim-tls-"))
    const { logger, lines } = recordingLogger("info")
    const extraCa = process.env.NODE_EXTRA_CA_CERTS
    let server: RunningServer
    let device: SimulatedNightlight

    beforeAll(async () => {
        await makeCa(dir, "ca")
        await makeServerCert(dir, "ca", "broker", "IP:127.0.0.1")
        const tls = { cert: join(dir, "broker.crt"), key: join(dir, "broker.key"), port: 0 }
        server = await startServer({ broker: { kind: "embedded", host: HOST, port: 0, tls }, threshold: 300 }, logger)
        // read by the VM's Node.js when it starts (the simulator's processes inherit our environment)
        process.env.NODE_EXTRA_CA_CERTS = join(dir, "ca.crt")
        const url = `mqtts://${HOST}:${server.broker!.tlsPort}`
        device = new SimulatedNightlight({ brokerUrl: url, deviceId: DEVICE, light: 900, logger })
        const first = firstReading(server, DEVICE)
        await device.start()
        expect((await first).light).toBe(900)
    })

    afterAll(async () => {
        if (extraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS
        else process.env.NODE_EXTRA_CA_CERTS = extraCa
        await device?.stop()
        await server?.stop()
        rmSync(dir, { recursive: true, force: true })
    })

    it("reports and gets its commands over TLS: light 100 turns the LED on, 900 off", async () => {
        expect(lines.join("")).toContain(`mqtts://${HOST}`)
        device.setLight(100)
        await ledBecomes(device, true, 3000)
        device.setLight(900)
        await ledBecomes(device, false, 3000)
    })
})
