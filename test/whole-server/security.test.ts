/**
 * The server as `npm start` puts it together, with a credentials file in its data folder: logins are
 * required, a device may only talk about itself, the server itself (in-process) still hears every
 * device and commands it, and the simulated device gets credentials of its own. An exposed broker
 * without users does not start. The rules themselves: test/auth-*.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { saveCredentials } from "../../server/auth/credentials"
import { hashPassword } from "../../server/auth/password-hash"
import { BrokerStartError } from "../../server/mqtt/embedded-broker"
import { HOST, Inbox, closeClient, connectClient, recordingLogger } from "../helpers/mqtt"

const PASSWORD = "porch-password-1"
let dir: string
let server: RunningServer
const { logger, lines } = recordingLogger("info")

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-security-"))
    // fast hash parameters: the test is about who gets in, not about the cost of a guess
    const hash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 })
    await saveCredentials(join(dir, "users.json"), new Map([["porch", { role: "device", hash }]]))
    const settings: ServerSettings = { broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300, dataDir: dir }
    server = await startServer(settings, logger)
})

afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
})

describe("with users in the data folder", () => {
    test("logins are required, on loopback too; the start-up lines say how to log in", async () => {
        expect(server.loginsRequired).toBe(true)
        await expect(connectClient(server.brokerUrl)).rejects.toThrow(/Not authorized|not authori[sz]ed|Bad username/i)
        await expect(connectClient(server.brokerUrl, { username: "porch", password: "wrong" })).rejects.toThrow()
        expect(lines.join("")).toContain("MQTT logins required: 1 user(s)")
    })

    test("a device that logs in is served by the server (whose own in-process client needs no login)", async () => {
        const porch = await connectClient(server.brokerUrl, { username: "porch", password: PASSWORD })
        try {
            const commands = await Inbox.open(porch, "porch/commands")
            porch.publish("porch/telemetry", '{"light": 100}')
            expect((await commands.nextJson()).json).toMatchObject({ led_on: true })
        } finally {
            await closeClient(porch)
        }
    })

    test("the simulated device gets a login of its own for this run, which only speaks for it", async () => {
        const url = new URL(await server.deviceUrl("nightlight-sim"))
        expect(url.username).toBe("nightlight-sim")
        const sim = await connectClient(`mqtt://${url.host}`, {
            username: url.username,
            password: decodeURIComponent(url.password),
        })
        try {
            const own = await Inbox.open(sim, "nightlight-sim/commands")
            sim.publish("nightlight-sim/telemetry", '{"light": 900}')
            expect((await own.nextJson()).json).toMatchObject({ led_on: false })
            // not another device's commands
            await expect(sim.subscribeAsync("porch/commands")).rejects.toThrow(/Subscribe error/)
        } finally {
            await closeClient(sim)
        }
    })
})

test("an exposed broker without users does not start, and says why and how to fix it", async () => {
    const empty = mkdtempSync(join(tmpdir(), "nightlight-exposed-"))
    try {
        const error = await startServer(
            { broker: { kind: "embedded", host: "0.0.0.0", port: 0 }, threshold: 300, dataDir: empty },
            recordingLogger("silent").logger
        ).catch(e => e)
        expect(error).toBeInstanceOf(BrokerStartError)
        expect(error.message).toContain("--mqtt-allow-anonymous")
        expect(error.message).toContain("npm run users -- add")
    } finally {
        rmSync(empty, { recursive: true, force: true })
    }
})
