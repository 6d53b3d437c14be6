// `npm run device` as a user runs it in a terminal: its own process group (the DeviceScript devtools and
// VM are its children in that group), a broker that is not there, then Ctrl+C, which reaches the whole
// group at once. The lines it prints are what is checked.
import { spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { freePort, until, within } from "../helpers/mqtt"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
let groupLeader: number | undefined

afterAll(() => {
    if (groupLeader !== undefined)
        try {
            process.kill(-groupLeader, "SIGKILL")
        } catch {
            // already gone
        }
})

describe("npm run device", () => {
    it("names an unreachable broker once per line, and stops on Ctrl+C without a stack trace", async () => {
        const port = await freePort() // nothing listens there
        const child = spawn(
            process.execPath,
            ["--import", "tsx", "sim/cli.ts", "--broker", `mqtt://127.0.0.1:${port}`],
            {
                cwd: ROOT,
                env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
                stdio: ["ignore", "pipe", "pipe"],
                detached: true, // a process group of its own, as a shell gives a command
            }
        )
        groupLeader = child.pid
        let output = ""
        for (const stream of [child.stdout!, child.stderr!])
            stream.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
        const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string)

        await until("the firmware to report the unreachable broker", () => /cannot reach/.test(output), 60_000)
        const line = output.split("\n").find(l => l.includes("cannot reach"))!
        expect(line).toMatch(
            new RegExp(`firmware: broker: cannot reach tcp://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED$`)
        )

        process.kill(-child.pid!, "SIGINT") // Ctrl+C: every process of the group
        expect(await within(15_000, "the device CLI to exit", exited)).toBe(0)
        groupLeader = undefined
        expect(output).toMatch(/SIGINT: stopping the simulated device/)
        expect(output).not.toMatch(/ECONNRESET|^\s+at /m)
    }, 90_000)
})
