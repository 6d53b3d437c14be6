// End to end: the real firmware bytecode in the DeviceScript VM, virtual light sensor and LED on the
// devtools bus, our server with its embedded broker on a free port. Light 100 → LED on, 900 → LED off.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { MqttClient } from "mqtt"
import { SimulatedNightlight } from "../../sim/device"
import { startServer, type RunningServer } from "../../server/app"
import type { TelemetryEvent } from "../../server/controller/events"
import { ACK_MAX_INTERVAL_MS } from "../../server/controller/ack-sender"
import { closeClient, connectClient, HOST, Inbox, recordingLogger, until, within } from "../helpers/mqtt"
import { firstReading, ledBecomes } from "../helpers/sim"

/**
 * The bound we promise for light change → LED change. The firmware reports a change at once (not at
 * its 2 s tick), so anything under the 2 s interval proves the report-on-change path; typical is ~0.2 s.
 */
const REACTION_BOUND_MS = 1500
const DEVICE = "e2e-nightlight"

describe("firmware in the simulator + server + embedded broker", () => {
    let server: RunningServer
    let device: SimulatedNightlight
    let observer: MqttClient
    let telemetry: Inbox
    const { logger, lines } = recordingLogger("info")

    beforeAll(async () => {
        server = await startServer({ broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300 }, logger)
        observer = await connectClient(server.brokerUrl)
        telemetry = await Inbox.open(observer, `${DEVICE}/telemetry`)
        device = new SimulatedNightlight({ brokerUrl: server.brokerUrl, deviceId: DEVICE, light: 900, logger })
        const reading = firstReading(server, DEVICE)
        await device.start()
        const first = await reading
        expect(first.light).toBe(900)
        expect(first.ledOn).toBe(false)
    })

    /** Skips the telemetry in flight until the reading of `light`. */
    const readingOf = (light: number) =>
        within(
            3000,
            `the reading of ${light}`,
            (async () => {
                while (JSON.parse((await telemetry.next(3000)).payload).light !== light);
            })()
        )

    afterAll(async () => {
        await device?.stop()
        await closeClient(observer)
        await server?.stop()
    })

    it(`light 100 turns the LED on within ${REACTION_BOUND_MS} ms`, async () => {
        const reading = new Promise<TelemetryEvent>(resolve =>
            server.controller.on("telemetry", (e: TelemetryEvent) => e.light === 100 && resolve(e))
        )
        device.setLight(100)
        const ms = await ledBecomes(device, true, REACTION_BOUND_MS)
        console.log(`light 900 → 100: LED on after ${ms.toFixed(0)} ms`)
        // the server saw exactly the lesson's value: firmware scaling and server contract agree
        expect((await reading).ledOn).toBe(true)
        expect(device.ledOn).toBe(true)
    })

    it(`light 900 turns the LED off within ${REACTION_BOUND_MS} ms`, async () => {
        device.setLight(900)
        const ms = await ledBecomes(device, false, REACTION_BOUND_MS)
        console.log(`light 100 → 900: LED off after ${ms.toFixed(0)} ms`)
        expect(device.ledOn).toBe(false)
    })

    it("switches on below the threshold and off only above threshold + band (hysteresis)", async () => {
        device.setLight(299)
        await ledBecomes(device, true, REACTION_BOUND_MS)
        // 300..399 is the band: the LED stays as it is (the lesson's rule would switch it off at 300)
        device.setLight(399)
        await expect(ledBecomes(device, false, 2500)).rejects.toThrow(/timed out/)
        device.setLight(400)
        await ledBecomes(device, false, REACTION_BOUND_MS)
    })

    it("publishes the lesson's payload, and not every 100 ms sample", async () => {
        device.setLight(700)
        // skip what was in flight, then count what a steady light produces over 4.5 s
        await readingOf(700)
        const windowEnds = Date.now() + 4500
        const seen: string[] = []
        while (Date.now() < windowEnds) {
            const message = await telemetry.next(windowEnds - Date.now() + 100).catch(() => undefined)
            if (message) seen.push(message.payload)
        }
        // the sensor streamed ~45 samples; a 2 s report interval sends 2 or 3 of them
        expect(seen.length).toBeGreaterThanOrEqual(2)
        expect(seen.length).toBeLessThanOrEqual(3)
        // the lesson's field, then the reliable link's: one new sequence number per reading
        const readings = seen.map(p => JSON.parse(p))
        for (const r of readings) expect(r).toMatchObject({ light: 700, led: false, local: false, dropped: 0 })
        for (let i = 1; i < readings.length; i++) expect(readings[i].seq).toBe(readings[i - 1].seq + 1)
    })

    it("a LED a person switched on in daylight adds no reports: the steady light still goes every 2 s", async () => {
        const readingWhere = (what: string, match: (r: { light: number; led: boolean }) => boolean) =>
            within(
                3000,
                what,
                (async () => {
                    while (!match(JSON.parse((await telemetry.next(3000)).payload)));
                })()
            )
        device.setLight(700)
        await readingWhere("the reading of 700", r => r.light === 700)
        expect(server.controller.override(DEVICE, true)).toBe(true)
        await ledBecomes(device, true, REACTION_BOUND_MS)
        // the report of the switch itself, then what a steady light produces over 4.5 s
        await readingWhere("the reading with the LED on", r => r.light === 700 && r.led)
        const windowEnds = Date.now() + 4500
        let reports = 0
        while (Date.now() < windowEnds)
            if (await telemetry.next(windowEnds - Date.now() + 100).catch(() => undefined)) reports++
        // before, the firmware took every sample for a switch the server had to hear of: one per 200 ms
        expect(reports).toBeGreaterThanOrEqual(2)
        expect(reports).toBeLessThanOrEqual(3)
        expect(device.ledOn).toBe(true) // the person's switch holds
        expect(server.controller.override(DEVICE, false)).toBe(true)
        await ledBecomes(device, false, REACTION_BOUND_MS)
    })

    it("ignores malformed and unknown commands, and keeps working", async () => {
        const ignored: string[] = []
        device.on("firmware", line => line.startsWith("ignored command") && ignored.push(line))
        for (const bad of ["garbage", "[1,2]", '{"led_on":"yes"}', '{"colour":"red"}', ""])
            await observer.publishAsync(`${DEVICE}/commands`, bad)
        await within(
            3000,
            "the firmware to log every ignored command",
            (async () => {
                while (ignored.length < 5) await new Promise(r => setTimeout(r, 50))
            })()
        )
        expect(device.ledOn).toBe(false)
        device.setLight(50)
        await ledBecomes(device, true, REACTION_BOUND_MS)
    })

    it("acks every 4 s, each covering two readings: the device never decides by itself nor sends a reading twice", async () => {
        const acks = await Inbox.open(observer, `${DEVICE}/acks`)
        device.setLight(650)
        await readingOf(650)
        // the device runs the server's config (localAfterMs 10 s): the server may space its acks 4 s apart
        expect(server.controller.configVersion(DEVICE)).toBe(server.controller.deviceConfigOf(DEVICE)?.config.version)
        const windowEnds = Date.now() + 12_500
        const readings: { seq: number; local: boolean }[] = []
        const acked: { seq: number; at: number }[] = []
        const collect = async (inbox: Inbox, into: (json: { seq: number; local: boolean }) => void) => {
            while (Date.now() < windowEnds) {
                const message = await inbox.next(windowEnds - Date.now() + 100).catch(() => undefined)
                if (message) into(JSON.parse(message.payload))
            }
        }
        await Promise.all([
            collect(telemetry, r => readings.push(r)),
            collect(acks, a => acked.push({ seq: a.seq, at: Date.now() })),
        ])
        expect(readings.length).toBeGreaterThanOrEqual(6) // every 2 s
        expect(readings.filter(r => r.local)).toEqual([])
        const seqs = readings.map(r => r.seq)
        expect(new Set(seqs).size, "a reading sent twice (a resend)").toBe(seqs.length)
        // about half as many acks as readings, none further apart than ACK_MAX_INTERVAL_MS allows
        expect(acked.length).toBeLessThanOrEqual(Math.ceil(readings.length / 2) + 1)
        for (let i = 1; i < acked.length; i++)
            expect(acked[i].at - acked[i - 1].at).toBeLessThan(ACK_MAX_INTERVAL_MS + 1000)
        // and the last reading is acknowledged within that
        await until(
            "the last reading acknowledged",
            () => (server.controller.device(DEVICE)?.acked ?? 0) >= seqs.at(-1)!,
            ACK_MAX_INTERVAL_MS + 1000
        )
    })

    it("prints the lesson's lines on the server", () => {
        expect(
            lines.some(l => l.includes(`Message received: {"light":100,"seq":`) && l.includes(`from ${DEVICE}`))
        ).toBe(true)
        expect(
            lines.some(l => l.includes(`Sending message: {"led_on":true,"seq":`) && l.includes(`to ${DEVICE}`))
        ).toBe(true)
    })
})
