/**
 * Ctrl+C as a terminal sends it (issue 15, item 2): SIGINT to the whole process group of `npm start`,
 * and to the server once more when a launcher passes it on (tsx does when the server's answer to it is
 * late, tens of ms after). That is one request to stop: the shutdown finishes and leaves everything in
 * nightlight.db. A second SIGINT a while later is a person asking again: the server exits at once.
 * While the signals come, a request in flight keeps the shutdown busy for the HTTP grace period (1 s).
 */
import { setTimeout as sleep } from "node:timers/promises"
import { afterEach, describe, expect, test } from "vitest"
import { LaunchedServer } from "../helpers/launched-server"

const SERVER_ARGS = ["--no-sim", "--mqtt-port", "0", "--http-port", "0"]
/** The tsx command line, as `npx tsx server/main.ts` runs it (node, not a shell, so no extra process). */
const TSX = [process.execPath, "node_modules/tsx/dist/cli.mjs", "server/main.ts", ...SERVER_ARGS]
/** server/main.ts's SAME_SIGNAL_MS (500) and some: a signal this long after the first is a new one. */
const A_WHILE_LATER_MS = 700
const DASHBOARD = /Dashboard and HTTP API: (http:\/\/127\.0\.0\.1:\d+)/

const launched: LaunchedServer[] = []

function launch(command: string, args: string[]): LaunchedServer {
    const server = new LaunchedServer(command, args)
    launched.push(server)
    return server
}

afterEach(() => {
    for (const server of launched.splice(0)) server.cleanup()
})

/** A clean stop: the shutdown finished, and the database is whole in nightlight.db. */
function expectCleanStop(server: LaunchedServer): void {
    expect(server.log).toMatch(/SIGINT received: shutting down[\s\S]*INFO: stopped/)
    expect(server.log).not.toContain("exiting without finishing the shutdown")
    expect(server.dataFiles()).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^nightlight\.db-(wal|shm)$/)])
    )
    expect(server.dataFiles()).toContain("nightlight.db")
}

describe("Ctrl+C", () => {
    test("npm start: SIGINT to the process group stops cleanly, nothing left beside nightlight.db", async () => {
        const server = launch("npm", ["start", "--", ...SERVER_ARGS])
        const [, http] = await server.waitFor(DASHBOARD)
        await server.holdRequest(http)
        server.signalGroup("SIGINT")
        await server.exit()
        expectCleanStop(server)
    }, 40_000)

    test("the same SIGINT passed on by the launcher a moment later is the same Ctrl+C", async () => {
        const server = launch(TSX[0], TSX.slice(1))
        const [, http] = await server.waitFor(DASHBOARD)
        await server.holdRequest(http)
        const pid = server.serverPid()
        server.signalGroup("SIGINT")
        await server.waitFor(/SIGINT received/)
        process.kill(pid, "SIGINT") // what tsx sends when the server's answer to its SIGINT is late
        expect(await server.exit()).toBe(0)
        expectCleanStop(server)
    }, 40_000)

    test("a second SIGINT a while later still exits at once", async () => {
        const server = launch(TSX[0], TSX.slice(1))
        const [, http] = await server.waitFor(DASHBOARD)
        await server.holdRequest(http)
        const pid = server.serverPid()
        server.signalGroup("SIGINT")
        await server.waitFor(/SIGINT received/)
        await sleep(A_WHILE_LATER_MS) // a person pressing again; the request in flight holds the shutdown
        process.kill(pid, "SIGINT")
        expect(await server.exit(5000)).toBe(130)
        expect(server.log).toContain("SIGINT again: exiting without finishing the shutdown")
        expect(server.log).not.toContain("INFO: stopped")
    }, 40_000)
})
