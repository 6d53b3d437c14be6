// The server's config on `<id>/config` with the real firmware in the simulator: a changed rule reaches
// the device (its readings carry the new version), a malformed config or one not newer is refused and
// reported, another device's config is never applied, and once the server is gone the device decides by
// the rule it was sent, not the one in its settings, and after a reboot still by the config it kept.
// Then: a config deployed as the kept setting is the one a device boots with. Last: a device's own
// threshold (PATCH /api/device-config/devices/:id) reaches it alone, and the server and the device
// alone both decide by it.
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { startServer, type RunningServer } from "../../server/app"
import { EmbeddedBroker } from "../../server/mqtt/embedded-broker"
import type { DeviceConfigPayload } from "../../server/protocol/contract"
import { FirmwareLog } from "../helpers/firmware-log"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { ledBecomes } from "../helpers/sim"

const DEVICE = "config-nightlight"
/** The device's own settings: what it would use without the server's config. */
const OWN = { THRESHOLD: 300, BAND: 100, LOCAL_AFTER: 60_000 }

describe("the server's config, on the real firmware", () => {
    let server: RunningServer
    let device: SimulatedNightlight
    let firmware: FirmwareLog
    let witness: MqttClient
    const { logger } = recordingLogger("silent")

    /** Readings as the broker carried them: what the device says it runs. */
    let readings: Inbox

    async function patchSettings(body: object): Promise<void> {
        const response = await fetch(`${server.http!.url}/api/settings`, {
            method: "PATCH",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
        })
        expect(response.status).toBe(200)
        await response.text()
    }

    /** The next reading that carries `cfg` (and `cfgErr` if given), within a few report intervals. */
    async function readingWith(cfg: number, cfgErr?: RegExp): Promise<Record<string, unknown>> {
        for (let i = 0; i < 20; i++) {
            const reading = JSON.parse((await readings.next(10_000)).payload) as Record<string, unknown>
            if (reading.cfg !== cfg) continue
            if (cfgErr === undefined ? reading.cfgErr === undefined : cfgErr.test(String(reading.cfgErr)))
                return reading
        }
        throw new Error(`no reading with cfg ${cfg}${cfgErr ? ` and cfgErr ${cfgErr}` : ""} in 20 readings`)
    }

    beforeAll(async () => {
        server = await startServer(
            {
                broker: { kind: "embedded", host: HOST, port: 0 },
                threshold: 300,
                band: 100,
                http: { enabled: true, host: HOST, port: 0 },
            },
            logger
        )
        // anonymous on loopback: it may read everything and publish what a broken server would
        witness = await connectClient(server.brokerUrl)
        readings = await Inbox.open(witness, `${DEVICE}/telemetry`)
        device = new SimulatedNightlight({ brokerUrl: server.brokerUrl, deviceId: DEVICE, light: 800, settings: OWN })
        firmware = new FirmwareLog(device)
        await device.start()
    })

    afterAll(async () => {
        await device?.stop()
        await closeClient(witness)
        await server?.stop()
    })

    it("gets its config on first contact, and a changed rule at once: its readings carry the new version", async () => {
        const first = server.controller.deviceConfig()
        await readingWith(first.version)
        expect(server.controller.configVersion(DEVICE)).toBe(first.version)

        await patchSettings({ threshold: 500, band: 100 })
        const changed = server.controller.deviceConfig()
        expect(changed.version).toBeGreaterThan(first.version)
        const started = performance.now()
        await readingWith(changed.version)
        console.log(`the new config version in a reading ${Math.round(performance.now() - started)} ms after the PATCH`)
        expect(firmware.matching(new RegExp(`^config ${changed.version}: threshold 500, band 100`))).toHaveLength(1)
        await until("the API to show the version", () => server.controller.configVersion(DEVICE) === changed.version)
    })

    it("refuses a malformed config whole, keeps the one it runs, and says why in its readings", async () => {
        const running = server.controller.deviceConfig()
        const { band: _band, ...partial } = { ...running, version: running.version + 10, threshold: 1 }
        await witness.publishAsync(`${DEVICE}/config`, JSON.stringify(partial), { qos: 1, retain: true })
        const reading = await readingWith(running.version, /"band" is missing/)
        expect(reading.cfgErr).toBe(`${running.version + 10}: "band" is missing`)
        await until("the API to show the refusal", () =>
            /"band" is missing/.test(server.controller.configError(DEVICE) ?? "")
        )
        expect(server.controller.configVersion(DEVICE)).toBe(running.version)
        expect(firmware.matching(/^config refused, keeping \d+: .*"band" is missing/).length).toBeGreaterThan(0)

        // out of range, then not newer: neither applied; then the server's own, newer, clears the refusal
        const outOfRange: DeviceConfigPayload = { ...running, version: running.version + 11, reportMs: 5 }
        await witness.publishAsync(`${DEVICE}/config`, JSON.stringify(outOfRange), { qos: 1, retain: true })
        await readingWith(running.version, /"reportMs" must be a whole number in 100\.\.3600000/)
        const older: DeviceConfigPayload = { ...running, version: running.version - 1, threshold: 1 }
        await witness.publishAsync(`${DEVICE}/config`, JSON.stringify(older), { qos: 1, retain: true })
        await patchSettings({ band: 90 })
        const fixed = server.controller.deviceConfig()
        await readingWith(fixed.version)
        const applied = firmware.matching(/^config \d+:/).map(l => Number(/^config (\d+)/.exec(l.line)![1]))
        expect(applied).not.toContain(running.version - 1)
        expect(applied).not.toContain(running.version + 10)
        expect(applied).not.toContain(running.version + 11)
        await until("the refusal to clear", () => server.controller.configError(DEVICE) === null)
    })

    it("never applies a config published for another device", async () => {
        const running = server.controller.deviceConfig()
        const foreign: DeviceConfigPayload = { ...running, version: running.version + 100, threshold: 1 }
        await witness.publishAsync("other-nightlight/config", JSON.stringify(foreign), { qos: 1, retain: true })
        // a marker after it on the device's own topic: once that is applied, the other would have been too
        const marker: DeviceConfigPayload = { ...running, version: running.version + 1 }
        await witness.publishAsync(`${DEVICE}/config`, JSON.stringify(marker), { qos: 1, retain: true })
        await readingWith(marker.version)
        expect(firmware.matching(new RegExp(`^config ${foreign.version}:`))).toHaveLength(0)
        expect(firmware.matching(/threshold 1,/)).toHaveLength(0)
    })

    it("decides by the server's rule once the server is gone, after the server's silence timeout", async () => {
        // running: threshold 500, band 90, local after 10 s (the server's default, not the device's 60 s)
        await ledBecomes(device, false, 5000)
        await server.stop()
        const stopped = performance.now()
        await until(
            "the device to decide locally",
            () => firmware.matching(/the server is silent: deciding locally/).length > 0,
            20_000
        )
        const silentAfter = performance.now() - stopped
        console.log(`deciding locally ${Math.round(silentAfter)} ms after the server stopped`)
        expect(silentAfter).toBeLessThan(OWN.LOCAL_AFTER / 2)
        // 450: on by the server's rule (< 500); its own settings (300 + 100) would keep it off
        device.setLight(450)
        await ledBecomes(device, true, 5000)
        // the VM's line may come a moment after the LED's own event
        await until("the firmware to say why", () => firmware.matching(/^LED on \(local\)/).length > 0)
    })

    it("reboots with the config it kept (writeSetting), the server still gone", async () => {
        // the version its last reading named: the marker of the test before, one above the server's
        const kept = server.controller.configVersion(DEVICE)!
        const rebooted = performance.now()
        await device.reboot()
        await until(
            "the kept config at boot",
            () => firmware.matching(new RegExp(`^config ${kept}: threshold 500, band 90`), rebooted).length > 0,
            20_000
        )
        // a fresh boot's LED state is off: by the kept rule 450 is dark (< 500), by its own settings
        // (300 + 100) it is not, and it would wait 60 s before deciding at all
        await until(
            "the device to decide by the kept rule",
            () => firmware.matching(/^LED on \(local\)/, rebooted).length > 0,
            20_000
        )
        expect(firmware.matching(/^device config-nightlight \(boot /, rebooted)).toHaveLength(1)
    })
})

describe("a config kept in the settings store", () => {
    it("is the one the device boots with, before any server speaks", async () => {
        const { logger } = recordingLogger("silent")
        // a broker without a nightlight server: nothing sends a config, nothing answers
        const broker = new EmbeddedBroker({ host: HOST, port: 0, logger })
        await broker.start()
        const kept = { version: 42, threshold: 600, band: 50, reportMs: 1000, minChange: 20, localAfterMs: 2000 }
        // as the firmware keeps it: the config's text, JSON-encoded by writeSetting
        const device = new SimulatedNightlight({
            brokerUrl: broker.url,
            deviceId: "kept-config-nightlight",
            light: 500,
            settings: { ...OWN, SRV_CONFIG: JSON.stringify(kept) },
        })
        const firmware = new FirmwareLog(device)
        const watcher = await connectClient(broker.url)
        try {
            const readings = await Inbox.open(watcher, "kept-config-nightlight/telemetry")
            await device.start()
            const reading = JSON.parse((await readings.next(30_000)).payload) as Record<string, unknown>
            expect(reading.cfg).toBe(42)
            expect(firmware.matching(/^config 42: threshold 600, band 50/)).toHaveLength(1)
            // 500 < 600: on by the kept rule after its 2 s of silence; the settings' 300 would keep it off
            await ledBecomes(device, true, 15_000)
            // the VM's line may come a moment after the LED's own event
            await until("the firmware to say why", () => firmware.matching(/^LED on \(local\)/).length > 0)
        } finally {
            await device.stop()
            await closeClient(watcher)
            await broker.stop()
        }
    })
})

describe("a device's own threshold (issue 18, the narrower winning), on the real firmware", () => {
    it("reaches that device, the server switches it by it, and so does the device alone", async () => {
        const { logger } = recordingLogger("silent")
        const id = "own-rule-nightlight"
        const server = await startServer(
            {
                broker: { kind: "embedded", host: HOST, port: 0 },
                threshold: 300,
                band: 100,
                http: { enabled: true, host: HOST, port: 0 },
            },
            logger
        )
        // 450: bright by the fleet's 300 (and the device's own settings), dark by its own 600
        const device = new SimulatedNightlight({ brokerUrl: server.brokerUrl, deviceId: id, light: 450, settings: OWN })
        const firmware = new FirmwareLog(device)
        const witness = await connectClient(server.brokerUrl)
        let serverRunning = true
        try {
            const readings = await Inbox.open(witness, `${id}/telemetry`)
            await device.start()
            await until("the server to know the device", () => server.controller.device(id) !== undefined, 30_000)
            await ledBecomes(device, false, 5000)

            const response = await fetch(`${server.http!.url}/api/device-config/devices/${id}`, {
                method: "PATCH",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ threshold: 600, localAfterMs: 2000, reportMs: 500 }),
            })
            expect(response.status).toBe(200)
            const { config } = (await response.json()) as { config: DeviceConfigPayload }
            expect(config.version).toBeGreaterThan(server.controller.deviceConfig().version)
            for (let i = 0; i < 20; i++) {
                const reading = JSON.parse((await readings.next(10_000)).payload) as Record<string, unknown>
                if (reading.cfg === config.version) break
                if (i === 19) throw new Error(`no reading with cfg ${config.version} in 20 readings`)
            }
            expect(firmware.matching(new RegExp(`^config ${config.version}: threshold 600, band 100`))).toHaveLength(1)
            // the server's decision by the device's own threshold, at once
            await ledBecomes(device, true, 5000)
            expect(server.controller.device(id)?.ledOn).toBe(true)

            await server.stop()
            serverRunning = false
            await until(
                "the device to decide locally",
                () => firmware.matching(/the server is silent: deciding locally/).length > 0,
                20_000
            )
            // alone, by the same rule: off from 600 + 100, on again below 600 (the fleet's 300 would not)
            device.setLight(700)
            await ledBecomes(device, false, 5000)
            device.setLight(500)
            await ledBecomes(device, true, 5000)
            await until("the firmware to say why", () => firmware.matching(/^LED on \(local\)/).length > 0)
        } finally {
            await device.stop()
            await closeClient(witness)
            if (serverRunning) await server.stop()
        }
    })
})
