/**
 * `npm start` runs the server's bundle (scripts/build-server.mjs), not its sources: everything the sources
 * find beside themselves (web/, the checkpoint worker) must still be found, from dist/server/.
 */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, test } from "vitest"
import { LaunchedServer, ROOT } from "../helpers/launched-server"
import { Inbox, closeClient, connectClient } from "../helpers/mqtt"
import type { MqttClient } from "mqtt"

let server: LaunchedServer | undefined
let client: MqttClient | undefined

afterEach(async () => {
    await closeClient(client)
    server?.cleanup()
    server = client = undefined
})

describe("npm start's bundle", () => {
    test("serves the dashboard, answers a device and runs its checkpoint worker, with Node alone", async () => {
        server = new LaunchedServer("npm", ["start", "--", "--no-sim", "--mqtt-port", "0", "--http-port", "0"])
        const [, mqttUrl] = await server.waitFor(/MQTT broker listening on (mqtt:\/\/127\.0\.0\.1:\d+)/)
        const [, http] = await server.waitFor(/Dashboard and HTTP API: (http:\/\/127\.0\.0\.1:\d+)/)

        const command = readFileSync(`/proc/${server.serverPid()}/cmdline`, "utf8").split("\0")
        expect(command.slice(1, 2)).toEqual(["dist/server/main.js"])
        expect(command.join(" ")).not.toContain("tsx")

        const page = await fetch(http)
        expect(page.status).toBe(200)
        expect(await page.text()).toContain("<html")
        const script = await fetch(`${http}/app.js`) // web/app.ts, bundled by the server on request
        expect(script.status).toBe(200)
        expect((await script.text()).length).toBeGreaterThan(1000)

        client = await connectClient(mqttUrl)
        const commands = await Inbox.open(client, "bundle-1/commands")
        await client.publishAsync("bundle-1/telemetry", JSON.stringify({ light: 120 }))
        expect((await commands.nextJson()).json).toMatchObject({ led_on: true })

        // a checkpoint worker that cannot start says so at once ("WAL checkpoints are back on the server's thread")
        expect(server.log).not.toMatch(/WARN|ERROR/)
        server.signalGroup("SIGINT")
        await server.exit()
        expect(server.log).toMatch(/INFO: stopped/)
        expect(server.log).not.toMatch(/WARN|ERROR/)
    }, 40_000)

    test("two builds at once both succeed and leave one whole bundle", async () => {
        const builds = [0, 1].map(() =>
            spawn(process.execPath, ["scripts/build-server.mjs"], { cwd: ROOT, stdio: "inherit" })
        )
        const codes = await Promise.all(builds.map(async child => (await once(child, "exit"))[0] as number))
        expect(codes).toEqual([0, 0])
        const dist = join(ROOT, "dist", "server")
        expect(readdirSync(dist).filter(name => name.endsWith(".partial"))).toEqual([])
        expect(existsSync(join(dist, "main.js.map"))).toBe(true)
        const check = spawn(process.execPath, ["--check", join(dist, "main.js")], { stdio: "inherit" })
        expect((await once(check, "exit"))[0]).toBe(0)
    }, 40_000)
})
