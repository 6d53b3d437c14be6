/**
 * The documented Mosquitto setup (examples/mosquitto: nightlight.conf and nightlight.acl) on a real
 * Mosquitto, with a password file made by `mosquitto_passwd -b` and a certificate made with openssl:
 * logins are required, and the same exhaustive leak check as on our own broker finds 0 leaks, over
 * plain MQTT and over MQTTS. Only the ports and file paths of the example are replaced.
 *
 * Without the mosquitto binary this file warns loudly and skips, except under CI (CI set).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process"
import { once } from "node:events"
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { checkLeaks, type Login } from "../helpers/acl-leaks"
import { makeCa, makeServerCert } from "../helpers/certificates"
import { MOSQUITTO, requireMosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { startServer } from "../../server/app"
import { configTopics } from "../../server/home-assistant/discovery"
import type { TelemetryEvent } from "../../server/controller/events"
import type { MqttClientBus } from "../../server/mqtt/client-bus"
import { HOST, Inbox, closeClient, connectClient, freePort, recordingLogger, until, within } from "../helpers/mqtt"

const run = promisify(execFile)
const EXAMPLES = fileURLToPath(new URL("../../examples/mosquitto/", import.meta.url))
const logins = {
    a: { username: "porch", password: "porch-password" },
    b: { username: "kitchen", password: "kitchen-password" },
    server: { username: "nightlight-server", password: "server-password" },
    witness: { username: "admin", password: "admin-password" },
} satisfies Record<string, Login>
/** The example's Home Assistant user. */
const haLogin: Login = { username: "homeassistant", password: "ha-password" }

/** Replaces `from` in the example, which must be there exactly once (else the example changed under us). */
function replaceOnce(text: string, from: string, to: string): string {
    const count = text.split(from).length - 1
    if (count !== 1)
        throw new Error(`examples/mosquitto/nightlight.conf: expected "${from}" once, found it ${count} times`)
    return text.replace(from, to)
}

describe.skipIf(skipWithoutMosquitto("test/interop/mosquitto-acl.test.ts", "The Mosquitto ACL example"))(
    "examples/mosquitto on a real Mosquitto",
    () => {
        const dir = mkdtempSync(join(tmpdir(), "nightlight-mosquitto-acl-"))
        const path = (name: string) => join(dir, name)
        let mosquitto: ChildProcess | undefined
        let port: number
        let tlsPort: number
        let log = ""

        beforeAll(async () => {
            const binary = requireMosquitto()
            const passwd = join(dirname(binary).replace(/sbin$/, "bin"), "mosquitto_passwd")
            for (const [i, { username, password }] of [...Object.values(logins), haLogin].entries())
                await run(passwd, [...(i === 0 ? ["-c"] : []), "-b", path("passwd"), username, password])
            chmodSync(path("passwd"), 0o600)
            await makeCa(dir, "ca")
            await makeServerCert(dir, "ca", "server", "IP:127.0.0.1")
            port = await freePort()
            tlsPort = await freePort()
            let conf = readFileSync(join(EXAMPLES, "nightlight.conf"), "utf8")
            conf = replaceOnce(conf, "listener 1883 127.0.0.1", `listener ${port} ${HOST}`)
            conf = replaceOnce(conf, "listener 8883", `listener ${tlsPort} ${HOST}`)
            conf = replaceOnce(conf, "/etc/mosquitto/certs/nightlight.crt", path("server.crt"))
            conf = replaceOnce(conf, "/etc/mosquitto/certs/nightlight.key", path("server.key"))
            conf = replaceOnce(
                conf,
                "password_file /etc/mosquitto/nightlight.passwd",
                `password_file ${path("passwd")}`
            )
            conf = replaceOnce(
                conf,
                "acl_file /etc/mosquitto/nightlight.acl",
                `acl_file ${join(EXAMPLES, "nightlight.acl")}`
            )
            // Run as root, Mosquitto would switch to the "mosquitto" user, who cannot read our temp files.
            if (process.getuid?.() === 0) conf += "\nuser root\n"
            writeFileSync(path("mosquitto.conf"), conf)
            const child = spawn(MOSQUITTO!, ["-c", path("mosquitto.conf")], { stdio: ["ignore", "ignore", "pipe"] })
            mosquitto = child
            child.stderr!.setEncoding("utf8")
            await within(
                5000,
                "mosquitto to start with the example config",
                new Promise<void>((resolve, reject) => {
                    child.stderr!.on("data", (chunk: string) => {
                        log += chunk
                        if (/mosquitto version \S+ running/.test(log)) resolve()
                    })
                    child.once("exit", code => reject(new Error(`mosquitto exited with ${code}: ${log}`)))
                })
            )
        })

        afterAll(async () => {
            if (mosquitto && mosquitto.exitCode === null) {
                const exited = once(mosquitto, "exit")
                mosquitto.kill("SIGTERM")
                await within(5000, "mosquitto to stop", exited).catch(() => mosquitto!.kill("SIGKILL"))
            }
            rmSync(dir, { recursive: true, force: true })
        })

        test("no login, a wrong password, an unknown user: refused; the right password gets in", async () => {
            const url = `mqtt://${HOST}:${port}`
            await expect(connectClient(url)).rejects.toMatchObject({ code: 5 })
            await expect(connectClient(url, { ...logins.a, password: "wrong" })).rejects.toMatchObject({ code: 5 })
            await expect(connectClient(url, { username: "nobody", password: "x" })).rejects.toMatchObject({ code: 5 })
            await closeClient(await connectClient(url, logins.a))
        })

        test("the exhaustive leak check over plain MQTT, both ways: 0 leaks", async () => {
            const url = `mqtt://${HOST}:${port}`
            for (const [a, b] of [
                [logins.a, logins.b],
                [logins.b, logins.a],
            ]) {
                const report = await checkLeaks({ url, ...logins, a, b })
                expect(report.writeLeaks).toEqual([])
                expect(report.readLeaks).toEqual([])
                // Mosquitto 2.0 grants every subscription of an MQTT 3.1.1 client (SUBACK 1), and checks
                // each message against the ACL when it delivers it; our broker refuses (SUBACK 0x80).
                console.log(
                    `leak check on Mosquitto (${a.username}): ${report.tried.publishes} publishes, ` +
                        `${report.tried.filters} filters (${report.grantedFilters.length} granted), 0 leaks`
                )
            }
        })

        test("over MQTTS with the CA: 0 leaks; without the CA: refused", async () => {
            const url = `mqtts://${HOST}:${tlsPort}`
            const ca = readFileSync(path("ca.crt"))
            const report = await checkLeaks({ url, ...logins, clientOptions: { ca } })
            expect(report.writeLeaks).toEqual([])
            expect(report.readLeaks).toEqual([])
            await expect(connectClient(url, logins.a)).rejects.toMatchObject({
                code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
            })
        })

        test("our server as the documented server user, over MQTTS with --mqtt-ca, serves a device its commands and config", async () => {
            // as NIGHTLIGHT_MQTT_USERNAME/PASSWORD and --mqtt-ca would configure it
            const server = await startServer(
                {
                    broker: {
                        kind: "external",
                        url: `mqtts://${HOST}:${tlsPort}`,
                        ...logins.server,
                        caFile: path("ca.crt"),
                    },
                    threshold: 300,
                },
                recordingLogger("silent").logger
            )
            const porch = await connectClient(`mqtt://${HOST}:${port}`, logins.a)
            try {
                await until("the server to be on the broker", () => (server.bus as MqttClientBus).isOnline)
                const commands = await Inbox.open(porch, "porch/commands")
                porch.publish("porch/telemetry", '{"light": 50}')
                // the leak checks above left retained junk on porch/commands: skip to the server's command
                let command: unknown
                while (!(command as { led_on?: boolean })?.led_on) {
                    const payload = (await commands.next()).payload
                    command = payload.startsWith("{") ? JSON.parse(payload) : undefined
                }
                expect(command).toMatchObject({ led_on: true, seq: expect.any(Number) })
                // the device's config, retained by Mosquitto for it since its first reading
                const configs = await Inbox.open(porch, "porch/config")
                const config = await configs.next()
                expect(config.retain).toBe(true)
                expect(JSON.parse(config.payload)).toEqual({ ...server.controller.deviceConfig(), threshold: 300 })
            } finally {
                await closeClient(porch)
                await server.stop()
            }
        })

        test("Home Assistant, as the documented user, deletes a device; the server leaves it out at the next birth", async () => {
            const url = `mqtt://${HOST}:${port}`
            const { logger, lines } = recordingLogger("info")
            const homeAssistant = { enabled: true, prefix: "homeassistant", birthTopic: "homeassistant/status" }
            const broker = { kind: "external" as const, url, ...logins.server }
            const server = await startServer({ broker, threshold: 300, homeAssistant }, logger)
            const [porch, kitchen, ha] = await Promise.all(
                [logins.a, logins.b, haLogin].map(l => connectClient(url, l))
            )
            const porchConfigs = configTopics("homeassistant", "porch")
            try {
                await until("the server to be on the broker", () => (server.bus as MqttClientBus).isOnline)
                const configs = await Inbox.open(ha, "homeassistant/+/+/config")
                /** Waits for a device's two configs; returns the other config messages seen meanwhile. */
                const until2 = async (deviceId: string) => {
                    const where = Object.values(configTopics("homeassistant", deviceId))
                    const others: string[] = []
                    for (let got = 0; got < 2;) {
                        const m = await configs.next()
                        if (where.includes(m.topic) && m.payload !== "") got++
                        else others.push(`${m.topic}=${m.payload}`)
                    }
                    return others
                }
                porch.publish("porch/telemetry", '{"light": 50}')
                await until2("porch")

                // What Home Assistant's "Delete" sends; the ACL must let it through to the broker
                for (const topic of Object.values(porchConfigs))
                    await ha.publishAsync(topic, "", { retain: true, qos: 1 })
                await until("the server to notice", () =>
                    lines.join("").includes("porch was deleted in Home Assistant")
                )
                const fresh = await connectClient(url, logins.witness)
                try {
                    const inbox = await Inbox.open(fresh, "homeassistant/+/+/config")
                    await fresh.publishAsync("homeassistant/sensor/end/config", "", { qos: 1 }) // not retained
                    const kept: string[] = []
                    for (
                        let m = await inbox.next();
                        m.topic !== "homeassistant/sensor/end/config";
                        m = await inbox.next()
                    )
                        kept.push(m.topic)
                    expect(kept.filter(t => Object.values(porchConfigs).includes(t))).toEqual([])
                } finally {
                    await closeClient(fresh)
                }

                // Home Assistant restarts; then kitchen's first reading: porch's configs must not come between
                await ha.publishAsync("homeassistant/status", "online", { qos: 1 })
                kitchen.publish("kitchen/telemetry", '{"light": 50}')
                const between = await until2("kitchen")
                // (HA's own deletions, the empty ones, come back to it)
                expect(between.filter(m => m.includes("nightlight_porch_") && !m.endsWith("="))).toEqual([])
            } finally {
                await Promise.all([porch, kitchen, ha].map(c => closeClient(c)))
                await server.stop()
            }
        })

        test("two servers of a share group, as the documented server user: the readings are split between them", async () => {
            const start = () =>
                startServer(
                    {
                        broker: {
                            kind: "external",
                            url: `mqtt://${HOST}:${port}`,
                            ...logins.server,
                            shareGroup: "lights",
                        },
                        threshold: 300,
                    },
                    recordingLogger("silent").logger
                )
            const servers = [await start(), await start()]
            const lights = servers.map(() => [] as number[])
            servers.forEach((server, i) =>
                server.controller.on("telemetry", (e: TelemetryEvent) => {
                    // (Mosquitto 2.0.11 also hands a new shared subscription the retained junk of the leak checks)
                    if (e.deviceId === "porch" && e.light >= 500) lights[i].push(e.light)
                })
            )
            const porch = await connectClient(`mqtt://${HOST}:${port}`, logins.a)
            try {
                await until("both servers on the broker", () => servers.every(s => (s.bus as MqttClientBus).isOnline))
                for (let i = 0; i < 20; i++) porch.publish("porch/telemetry", JSON.stringify({ light: 500 + i }))
                // the ACL's "+/telemetry" covers "$share/lights/+/telemetry": each server gets its share, once
                await until("all 20 readings handled", () => lights[0].length + lights[1].length === 20)
                for (const l of lights) expect(l.length).toBeGreaterThanOrEqual(5) // Mosquitto deals them out in turn
                expect([...lights[0], ...lights[1]].sort()).toEqual(Array.from({ length: 20 }, (_, i) => 500 + i))
            } finally {
                await closeClient(porch)
                await Promise.all(servers.map(s => s.stop()))
            }
        })
    }
)
