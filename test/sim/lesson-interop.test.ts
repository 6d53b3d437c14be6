// Our simulated device (real firmware in the VM) against a broker and a server we did not write:
// Debian's Mosquitto, and the lesson's own Python server (paho-mqtt) from IoT for Beginners lesson 4.
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SimulatedNightlight } from "../../sim/device"
import { IN_CI, Mosquitto, requireMosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { freePort, within } from "../helpers/mqtt"
import { ledBecomes } from "../helpers/sim"

const PYTHON = "/usr/bin/python3"
const HAVE_PAHO = spawnSync(PYTHON, ["-c", "import paho.mqtt.client"]).status === 0
if (!HAVE_PAHO && !IN_CI)
    console.warn(
        "\n!!! WARNING: test/sim/lesson-interop.test.ts SKIPPED: python3-paho-mqtt not found.\n" +
            "!!! Install it: sudo apt-get install -y python3-paho-mqtt. Under CI this file fails instead.\n"
    )
const skip =
    skipWithoutMosquitto("test/sim/lesson-interop.test.ts", "The device with the lesson's server") ||
    (!HAVE_PAHO && !IN_CI)

/** The lesson's server works per device id: its topics are `<id>/telemetry` and `<id>/commands`. */
const DEVICE = "lesson-interop"
const BOUND_MS = 2000

describe.skipIf(skip)("the simulated device with Mosquitto and the lesson's Python server", () => {
    let mosquitto: Mosquitto
    let lessonServer: ChildProcess
    let device: SimulatedNightlight
    const printed: string[] = []

    beforeAll(async () => {
        requireMosquitto()
        if (!HAVE_PAHO)
            throw new Error("CI is set but python3-paho-mqtt is missing: apt-get install -y python3-paho-mqtt")
        mosquitto = new Mosquitto(await freePort())
        await mosquitto.start()
        lessonServer = spawn(PYTHON, [
            "-u",
            "test/fixtures/lesson_server.py",
            DEVICE,
            "127.0.0.1",
            String(mosquitto.port),
        ])
        createInterface({ input: lessonServer.stdout! }).on("line", line => printed.push(line))
        createInterface({ input: lessonServer.stderr! }).on("line", line => printed.push(`stderr: ${line}`))
        device = new SimulatedNightlight({ brokerUrl: mosquitto.url, deviceId: DEVICE, light: 900 })
        await device.start()
        // the lesson's server prints a Python dict for each reading
        await within(
            20_000,
            "the lesson's server to receive a reading",
            (async () => {
                while (!printed.some(l => l.startsWith("Message received: {'light': 900,")))
                    await new Promise(r => setTimeout(r, 100))
            })()
        )
    })

    afterAll(async () => {
        await device?.stop()
        lessonServer?.kill()
        await mosquitto?.stop()
        mosquitto?.cleanup()
    })

    it("turns the LED on in the dark and off in the light", async () => {
        device.setLight(100)
        console.log(`lesson server: LED on after ${(await ledBecomes(device, true, BOUND_MS)).toFixed(0)} ms`)
        expect(printed).toContain("Sending message: {'led_on': True}")
        device.setLight(900)
        console.log(`lesson server: LED off after ${(await ledBecomes(device, false, BOUND_MS)).toFixed(0)} ms`)
    })

    it("sends the lesson's field first; the lesson's code ignores the rest without an error", () => {
        expect(printed.filter(l => l.startsWith("stderr:"))).toEqual([])
        const readings = printed.filter(l => l.startsWith("Message received:"))
        expect(readings.length).toBeGreaterThan(0)
        for (const line of readings) expect(line).toMatch(/^Message received: \{'light': \d+, 'seq': \d+, /)
    })
})
