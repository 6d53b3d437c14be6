/**
 * A client that may publish chooses the ids it publishes on (anonymous on loopback, or with
 * --mqtt-allow-anonymous): each made-up id used to become a device, kept in memory and in the store for
 * ever. --max-devices caps the registry: past it, new ids are ignored with one warning a minute and a
 * count, and the devices already known are served as before, also after a restart.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, test } from "vitest"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const running: RunningServer[] = []
const dirs: string[] = []
afterEach(async () => {
    for (const s of running.splice(0)) await s.stop()
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function start(settings: Partial<ServerSettings>, lines?: string[]) {
    const recorded = recordingLogger("info")
    const server = await startServer(
        { broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300, ...settings },
        recorded.logger
    )
    running.push(server)
    if (lines) recorded.lines.length = 0
    return { server, lines: recorded.lines }
}

describe("--max-devices", () => {
    test("made-up ids past the cap are ignored, counted and logged once; known devices are still served", async () => {
        const { server, lines } = await start({ maxDevices: 50 })
        const attacker = await connectClient(server.brokerUrl)
        try {
            for (let i = 0; i < 200; i++) attacker.publish(`fake-${i}/telemetry`, '{"light": 500}')
            for (let i = 200; i < 250; i++) attacker.publish(`fake-${i}/status`, "online")
            await until("the made-up ids to be refused", () => server.controller.stats().devicesRefused === 200)
        } finally {
            await closeClient(attacker)
        }
        expect(server.controller.deviceIds()).toHaveLength(50)
        const warnings = lines.filter(l => l.includes("the device registry is full"))
        expect(warnings).toHaveLength(1)
        expect(warnings[0]).toContain("50 devices, --max-devices")

        // a device known before the flood is still decided on and commanded
        const known = await connectClient(server.brokerUrl)
        try {
            const commands = await Inbox.open(known, "fake-7/commands")
            known.publish("fake-7/telemetry", '{"light": 100}')
            // the command of its first reading (off) may come first, retained, live, or both when it was
            // sent while the subscription was being made
            let command = (await commands.nextJson()).json as { led_on: boolean }
            for (let i = 0; i < 2 && !command.led_on; i++)
                command = (await commands.nextJson()).json as { led_on: boolean }
            expect(command).toMatchObject({ led_on: true })
            // a config for each device taken in, none for the refused ids: the broker keeps none for them
            await until("the known devices' configs", () => server.controller.stats().configsSent === 50)
            const refused = await Inbox.open(known, "fake-199/config")
            const accepted = await Inbox.open(known, "fake-7/config")
            await accepted.next()
            expect(refused.pending).toBe(0)
            expect(server.controller.stats()).toMatchObject({ configsSent: 50, configsFailed: 0 })
        } finally {
            await closeClient(known)
        }
    })

    test("devices in the store are kept after a restart with a lower cap; new ones are refused", async () => {
        const dataDir = mkdtempSync(join(tmpdir(), "nightlight-registry-"))
        dirs.push(dataDir)
        const first = (await start({ dataDir, maxDevices: 100 })).server
        const client = await connectClient(first.brokerUrl)
        for (let i = 0; i < 20; i++) client.publish(`pole-${i}/telemetry`, `{"light": 500, "seq": 1, "boot": "b"}`)
        await until("20 devices", () => first.controller.deviceIds().length === 20)
        await closeClient(client)
        await until("20 devices stored", () => first.store.registry.list().length === 20)
        await first.stop()
        running.splice(running.indexOf(first), 1)

        const second = (await start({ dataDir, maxDevices: 10 })).server
        expect(second.controller.deviceIds()).toHaveLength(20)
        const again = await connectClient(second.brokerUrl)
        try {
            again.publish("pole-3/telemetry", `{"light": 100, "seq": 2, "boot": "b"}`)
            again.publish("newcomer/telemetry", `{"light": 100}`)
            await until("the newcomer to be refused", () => second.controller.stats().devicesRefused === 1)
            await until("pole-3's reading", () => second.controller.device("pole-3")?.lastLight === 100)
        } finally {
            await closeClient(again)
        }
        expect(second.controller.device("newcomer")).toBeUndefined()
    })
})
