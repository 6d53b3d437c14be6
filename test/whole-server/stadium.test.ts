/**
 * The lesson's stadium: ten light sensors in one group, on the real server with its embedded broker and
 * a groups file, driven by real MQTT clients. One shaded sensor switches nothing; when most are dark,
 * every light comes on, the bright ones too. A device outside the group keeps its own rule.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const MEMBERS = Array.from({ length: 10 }, (_, i) => `stadium-${i + 1}`)
const DARK = 100
const BRIGHT = 800

let dir: string
let server: RunningServer
let client: MqttClient
let commands: Inbox
const { logger } = recordingLogger("silent")

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-stadium-"))
    const groupsFile = join(dir, "groups.json")
    writeFileSync(groupsFile, JSON.stringify({ groups: { stadium: { members: MEMBERS, rule: "majority" } } }))
    server = await startServer(
        { broker: { kind: "embedded", host: HOST, port: 0 }, threshold: 300, band: 100, groupsFile, dataDir: dir },
        logger
    )
    client = await connectClient(server.brokerUrl)
    commands = await Inbox.open(client, "+/commands")
})

afterAll(async () => {
    await closeClient(client)
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
})

/** Publishes readings in order and waits until the server has seen each of them. */
async function report(readings: [deviceId: string, light: number][]): Promise<void> {
    const before = server.controller.stats().received
    for (const [id, light] of readings) client.publish(`${id}/telemetry`, JSON.stringify({ light }))
    await until(
        `${readings.length} readings received`,
        () => server.controller.stats().received >= before + readings.length
    )
}

/** The commands that arrive until `quietMs` passes without one, as deviceId → led_on (the last one). */
async function commandsUntilQuiet(quietMs = 300): Promise<Map<string, boolean>> {
    const got = new Map<string, boolean>()
    for (;;) {
        const message = await commands.next(quietMs).catch(() => undefined)
        if (!message) return got
        got.set(message.topic.split("/")[0], (JSON.parse(message.payload) as { led_on: boolean }).led_on)
    }
}

describe("a group of ten that votes", () => {
    test("daylight everywhere: every light is told off", async () => {
        await report(MEMBERS.map(id => [id, BRIGHT]))
        const got = await commandsUntilQuiet()
        expect([...got.keys()].sort()).toEqual([...MEMBERS].sort())
        expect([...got.values()].every(on => on === false)).toBe(true)
        expect(server.controller.groups.view("stadium")).toMatchObject({ ledOn: false, votes: { voters: 10, dark: 0 } })
    })

    test("one sensor shaded (a cloud, a bird): no light changes", async () => {
        await report([["stadium-3", DARK]])
        expect(await commandsUntilQuiet()).toEqual(new Map())
        expect(server.controller.groups.view("stadium")).toMatchObject({ ledOn: false, votes: { dark: 1 } })
        expect(server.controller.device("stadium-3")?.ledOn).toBe(false)
    })

    test("most sensors dark: every light comes on, the still-bright ones too", async () => {
        // stadium-3 is dark already; five more make six of ten
        await report(MEMBERS.slice(3, 8).map(id => [id, DARK]))
        const got = await commandsUntilQuiet()
        expect([...got.keys()].sort()).toEqual([...MEMBERS].sort())
        expect([...got.values()].every(on => on === true)).toBe(true)
        expect(server.controller.device("stadium-1")).toMatchObject({ ledOn: true, lastLight: BRIGHT })
    })

    test("one sensor lit up again (a floodlight on it): the lights stay on", async () => {
        await report([["stadium-5", BRIGHT]])
        expect(await commandsUntilQuiet()).toEqual(new Map())
        expect(server.controller.groups.view("stadium")?.ledOn).toBe(true)
    })

    test("offline members do not vote: the group decides from those left", async () => {
        // four of the five dark ones go offline (their wills): the five bright ones outvote the one dark left
        for (const id of ["stadium-3", "stadium-4", "stadium-6", "stadium-7"])
            client.publish(`${id}/status`, "offline", { retain: true })
        const got = await commandsUntilQuiet(500)
        expect(server.controller.groups.view("stadium")).toMatchObject({ ledOn: false })
        expect(server.controller.groups.view("stadium")?.votes.notVoting).toEqual(
            expect.arrayContaining([{ id: "stadium-3", why: "offline" }])
        )
        expect(got.get("stadium-1")).toBe(false)
    })

    test("a device outside any group keeps its own rule", async () => {
        await report([["porch", DARK]])
        expect(await commandsUntilQuiet()).toEqual(new Map([["porch", true]]))
        expect(server.controller.groups.groupOf("porch")).toBeUndefined()
    })
})
