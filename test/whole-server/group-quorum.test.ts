/**
 * A group's quorum (`minVoters`) on a freshly started server (issue 15, item 1): the real server with
 * its embedded broker and HTTP API, and six members that are real MQTT clients with the firmware's
 * reliable link (test/helpers/reliable-device.ts). Until four members vote, the group has made no decision:
 * no member is commanded (a shaded sensor does not even switch its own light) and the API says so.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import type { DevicesResponse, GroupsResponse, GroupView } from "../../server/http/api-types"
import { startServer, type RunningServer } from "../../server/app"
import { HOST, recordingLogger, until } from "../helpers/mqtt"
import { ReliableDevice } from "../helpers/reliable-device"

const MEMBERS = Array.from({ length: 6 }, (_, i) => `pitch-${i + 1}`)
const DARK = 100
const BRIGHT = 800

let dir: string
let server: RunningServer
const devices = new Map<string, ReliableDevice>()
const { logger } = recordingLogger("silent")

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-quorum-"))
    const groupsFile = join(dir, "groups.json")
    const stadium = { members: MEMBERS, rule: "majority", minVoters: 4 }
    writeFileSync(groupsFile, JSON.stringify({ groups: { stadium } }))
    server = await startServer(
        {
            broker: { kind: "embedded", host: HOST, port: 0 },
            threshold: 300,
            band: 100,
            groupsFile,
            dataDir: dir,
            http: { enabled: true, host: HOST, port: 0 },
        },
        logger
    )
    for (const id of MEMBERS) {
        const device = new ReliableDevice(id)
        await device.connect(server.brokerUrl)
        devices.set(id, device)
    }
})

afterAll(async () => {
    for (const device of devices.values()) await device.close()
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
})

const member = (id: string): ReliableDevice => devices.get(id)!

/**
 * Each member takes a reading and waits for its ack. The server sends a reading's command before it
 * acknowledges the reading, so once the ack is in, any command it caused has arrived too.
 */
async function report(readings: [id: string, light: number][]): Promise<void> {
    const sent = readings.map(([id, light]) => ({ device: member(id), seq: member(id).read(light).seq }))
    await until(`acks of ${readings.map(([id]) => id).join(", ")}`, () =>
        sent.every(({ device, seq }) => device.acked >= seq)
    )
}

async function api<T>(path: string): Promise<T> {
    const response = await fetch(`${server.http!.url}${path}`)
    expect(response.status).toBe(200)
    return (await response.json()) as T
}

async function stadiumView(): Promise<GroupView> {
    const { groups } = await api<GroupsResponse>("/api/groups")
    return groups.find(g => g.name === "stadium")!
}

describe("a group of six with minVoters 4, on a fresh server", () => {
    test("two shaded members: nobody is commanded, and the API shows no decision", async () => {
        await report([
            ["pitch-1", DARK],
            ["pitch-2", DARK],
        ])
        expect(MEMBERS.map(id => member(id).commands)).toEqual([0, 0, 0, 0, 0, 0])
        expect(await stadiumView()).toMatchObject({ ledOn: null, votes: { voters: 2, dark: 2 } })
        const { devices: views } = await api<DevicesResponse>("/api/devices")
        expect(views.find(d => d.id === "pitch-1")).toMatchObject({ light: DARK, ledOn: null, lastCommand: null })
    })

    test("a third voter is still short of the quorum: still no command", async () => {
        await report([["pitch-3", DARK]])
        expect(MEMBERS.map(id => member(id).commands)).toEqual([0, 0, 0, 0, 0, 0])
        expect(await stadiumView()).toMatchObject({ ledOn: null, votes: { voters: 3, dark: 3 } })
    })

    test("the fourth voter makes the quorum: the group decides and every member that reported is told", async () => {
        // three of four dark is a majority: on, for the bright fourth too
        await report([["pitch-4", BRIGHT]])
        const told = MEMBERS.slice(0, 4)
        await until("the first four members switched on", () => told.every(id => member(id).led))
        expect(told.map(id => member(id).commands)).toEqual([1, 1, 1, 1])
        expect(await stadiumView()).toMatchObject({ ledOn: true, votes: { voters: 4, dark: 3 } })
    })

    test("a member heard for the first time after the decision gets the group's state", async () => {
        await report([["pitch-5", BRIGHT]])
        await until("pitch-5 switched on", () => member("pitch-5").led)
        expect(await stadiumView()).toMatchObject({ ledOn: true, votes: { voters: 5, dark: 3 } })
        expect(member("pitch-6").commands).toBe(0)
    })
})
