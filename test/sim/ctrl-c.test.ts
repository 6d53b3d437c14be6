/**
 * `npm start` with its simulated device, stopped by Ctrl+C as a terminal sends it: SIGINT to the whole
 * process group, so the DeviceScript devtools and VM die while the server is still stopping. What the
 * person sees is the server's log to its last line, nothing printed past the logger.
 */
import { afterEach, describe, expect, test } from "vitest"
import { LaunchedServer } from "../helpers/launched-server"

let server: LaunchedServer | undefined

afterEach(() => {
    server?.cleanup()
    server = undefined
})

/** npm's own header ("> nightlight@0.1.0 start", the command) and blank lines are npm's, not ours. */
const notTheLogger = (log: string) =>
    log
        .split("\n")
        .filter(line => line.trim() !== "" && !line.startsWith("> ") && !/^\[\d\d:\d\d:\d\d\.\d{3}\] /.test(line))

describe("npm start with its simulator", () => {
    test("Ctrl+C stops it cleanly: every line it printed is the server's log", async () => {
        server = new LaunchedServer("npm", ["start", "--", "--mqtt-port", "0", "--http-port", "0"])
        await server.waitFor(/Message received: \{"light"/, 60_000)
        server.signalGroup("SIGINT")
        await server.exit() // npm itself ends by the signal, as in a terminal
        expect(server.log).toMatch(/SIGINT received: shutting down[\s\S]*INFO: stopped/)
        expect(notTheLogger(server.log)).toEqual([])
    }, 90_000)
})
