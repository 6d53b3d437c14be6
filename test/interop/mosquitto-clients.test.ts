// Mosquitto's own command-line clients (mosquitto_pub / mosquitto_sub) against our embedded broker:
// lesson telemetry in, lesson commands out, with tools we did not write.
import { spawn, spawnSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { IN_CI } from "../helpers/mosquitto"
import { HOST, recordingLogger, within } from "../helpers/mqtt"

const HAVE_CLIENTS = spawnSync("mosquitto_pub", ["--help"]).error === undefined
if (!HAVE_CLIENTS && !IN_CI)
    console.warn(
        "\n!!! WARNING: test/interop/mosquitto-clients.test.ts SKIPPED: mosquitto_pub/mosquitto_sub not found.\n" +
            "!!! Install them: sudo apt-get install -y mosquitto-clients. Under CI this file fails instead.\n"
    )

describe.skipIf(!HAVE_CLIENTS && !IN_CI)("mosquitto_pub / mosquitto_sub against the embedded broker", () => {
    let server: RunningServer

    beforeAll(async () => {
        if (!HAVE_CLIENTS)
            throw new Error("CI is set but mosquitto_pub is missing: apt-get install -y mosquitto-clients")
        server = await startServer(
            { broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300 },
            recordingLogger("silent").logger
        )
    })
    afterAll(async () => server?.stop())

    async function commandFor(deviceId: string, telemetry: string): Promise<string> {
        const port = String(server.broker!.port)
        // -C 1: exit after one message; -W: give up after 10 s
        const sub = spawn("mosquitto_sub", [
            "-h",
            HOST,
            "-p",
            port,
            "-t",
            `${deviceId}/commands`,
            "-v",
            "-C",
            "1",
            "-W",
            "10",
        ])
        let out = ""
        sub.stdout.on("data", d => (out += d))
        const exited = new Promise<void>(resolve => sub.once("exit", () => resolve()))
        // mosquitto_sub says nothing once subscribed: publish until the command shows up (bounded).
        // Not spawnSync: the broker runs in this process and must keep answering meanwhile.
        const publishing = (async () => {
            for (let i = 0; i < 40 && !out; i++) {
                const pub = spawn("mosquitto_pub", [
                    "-h",
                    HOST,
                    "-p",
                    port,
                    "-t",
                    `${deviceId}/telemetry`,
                    "-m",
                    telemetry,
                ])
                await new Promise(resolve => pub.once("exit", resolve))
                await new Promise(r => setTimeout(r, 150))
            }
        })()
        await within(12_000, `a command for ${deviceId} on mosquitto_sub`, exited)
        await publishing
        return out.trim()
    }

    it("answers the lesson's telemetry with the lesson's command (plus our seq and t)", async () => {
        expect(await commandFor("lesson-dark", '{"light": 120}')).toMatch(
            /^lesson-dark\/commands \{"led_on":true,"seq":\d+,"t":\d+\}$/
        )
        expect(await commandFor("lesson-bright", '{"light": 800}')).toMatch(
            /^lesson-bright\/commands \{"led_on":false,"seq":\d+,"t":\d+\}$/
        )
    })
})
