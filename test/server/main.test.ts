/**
 * `npm start` as a user runs it: what it runs (the server's bundle, dist/server/main.js, built first as
 * its prestart does) in a child process (no npm between, so a signal reaches the server itself), real
 * flags, a real MQTT client, a real SIGTERM.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { once } from "node:events"
import { createServer, type Server } from "node:net"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, beforeAll, describe, expect, test } from "vitest"
import { HOST, Inbox, closeClient, connectClient, within } from "../helpers/mqtt"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const children: ChildProcess[] = []
const servers: Server[] = []
/** Each run's data folder: the server under test must not write into the repository's data/. */
const dataDirs: string[] = []

beforeAll(() => {
    execFileSync(process.execPath, ["scripts/build-server.mjs"], { cwd: ROOT, stdio: "inherit" })
})

afterEach(async () => {
    for (const child of children.splice(0))
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    for (const server of servers.splice(0)) await new Promise(resolve => server.close(resolve))
    for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

interface Run {
    child: ChildProcess
    stdout: () => string
    stderr: () => string
    /** Exit code (or signal name), within `ms`. */
    exit: (ms?: number) => Promise<number | string>
    /** Resolves with the first match of `pattern` in stdout, within `ms`. */
    waitFor: (pattern: RegExp, ms?: number) => Promise<RegExpMatchArray>
}

function run(args: string[], env: Record<string, string> = {}): Run {
    // The test's own NIGHTLIGHT_* variables must not leak into the server under test.
    const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NIGHTLIGHT_")))
    const dataDir = mkdtempSync(join(tmpdir(), "nightlight-cli-"))
    dataDirs.push(dataDir)
    // and its dashboard on any free port, not 8080 (a flag or the test's own variables still win)
    const isolated = { NIGHTLIGHT_DATA_DIR: dataDir, NIGHTLIGHT_HTTP_PORT: "0" }
    const child = spawn(process.execPath, ["dist/server/main.js", ...args], {
        cwd: ROOT,
        env: { ...cleanEnv, NO_COLOR: "1", FORCE_COLOR: "0", ...isolated, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    })
    children.push(child)
    let out = ""
    let err = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk))
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk))
    const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string)
    return {
        child,
        stdout: () => out,
        stderr: () => err,
        exit: (ms = 10_000) => within(ms, "the server process to exit", exited),
        waitFor: (pattern, ms = 15_000) =>
            within(
                ms,
                `${pattern} in the server's output (so far: ${JSON.stringify((out + err).slice(-800))})`,
                new Promise<RegExpMatchArray>((resolve, reject) => {
                    const check = () => {
                        const match = out.match(pattern)
                        if (match) resolve(match)
                    }
                    child.stdout!.on("data", check)
                    exited.then(
                        code => reject(new Error(`exited with ${code} before printing ${pattern}: ${out}${err}`)),
                        reject
                    )
                    check()
                })
            ),
    }
}

describe("the command line", () => {
    test("bad options exit with code 2 and one line naming the culprit", async () => {
        const cases: [args: string[], env: Record<string, string>, culprit: string][] = [
            [["--bogus"], {}, "unknown option --bogus"],
            [["--threshold", "dark"], {}, '--threshold "dark"'],
            [["--mqtt-url", "mqtt://127.0.0.1:1", "--mqtt-port", "5"], {}, "--mqtt-url cannot be combined"],
            [[], { NIGHTLIGHT_THRESHOLD: "0" }, 'NIGHTLIGHT_THRESHOLD "0"'],
            [["--band=-5"], {}, '--band "-5": expected an integer from 0 to 1023'],
            [[], { NIGHTLIGHT_BAND: "2000" }, 'NIGHTLIGHT_BAND "2000"'],
        ]
        // In parallel: each costs a Node + tsx start-up.
        const runs = cases.map(([args, env]) => run(args, env))
        const codes = await Promise.all(runs.map(r => r.exit(50_000)))
        for (const [i, [, , culprit]] of cases.entries()) {
            expect(codes[i]).toBe(2)
            const stderr = runs[i].stderr()
            expect(stderr).toContain(culprit)
            expect(stderr).toContain("run with --help")
            expect(stderr.trim().split("\n")).toHaveLength(1)
            expect(runs[i].stdout()).toBe("")
        }
        // six Node + tsx start-ups at once: about 4 s each alone, over 20 s on a loaded 2-core machine
    }, 60_000)

    test("--help prints the usage and exits 0", async () => {
        const r = run(["--help"])
        expect(await r.exit()).toBe(0)
        for (const flag of ["--mqtt-url", "--mqtt-port", "--threshold", "--band", "--no-sim", "NIGHTLIGHT_BAND"])
            expect(r.stdout()).toContain(flag)
    })

    test("a groups file of an earlier version (staleAfterSeconds): exit 2 with the line to write instead", async () => {
        const dir = mkdtempSync(join(tmpdir(), "nightlight-cli-groups-"))
        dataDirs.push(dir)
        const file = join(dir, "groups.json")
        writeFileSync(file, JSON.stringify({ groups: { porch: { members: ["porch-1"], staleAfterSeconds: 30 } } }))
        const r = run(["--no-sim", "--mqtt-port", "0", "--groups", file])
        expect(await r.exit()).toBe(2)
        expect(r.stdout()).toContain(
            `${file}: groups.porch.staleAfterSeconds: now "staleAfterMs", in milliseconds as in the API: write "staleAfterMs": 30000`
        )
    })

    test("a port already in use: exit 1 with a clear message, no stack trace", async () => {
        const blocker = createServer()
        servers.push(blocker)
        await new Promise<void>(resolve => blocker.listen(0, HOST, resolve))
        const port = (blocker.address() as { port: number }).port
        const r = run(["--no-sim", "--mqtt-port", String(port)])
        expect(await r.exit()).toBe(1)
        expect(r.stdout()).toContain(`port ${port} on ${HOST} is already in use — is another MQTT broker running?`)
        expect(r.stdout()).not.toMatch(/\n\s+at /)
    })
})

describe("the server process", () => {
    test("starts, serves a real MQTT client, and exits 0 on SIGTERM", async () => {
        const r = run(["--no-sim", "--mqtt-port", "0", "--threshold", "500"])
        const [, url] = await r.waitFor(/MQTT broker listening on (mqtt:\/\/127\.0\.0\.1:\d+)/)
        const [, port] = await r.waitFor(/mosquitto_pub -h 127\.0\.0\.1 -p (\d+) -t 'my-device\/telemetry'/)
        expect(url).toBe(`mqtt://127.0.0.1:${port}`)
        await r.waitFor(/Registry and history: \S*nightlight-cli-\w+\/nightlight\.db \(kept 30 days\)/)
        await r.waitFor(/Dashboard and HTTP API: http:\/\/127\.0\.0\.1:\d+/)
        const client = await connectClient(url)
        try {
            const inbox = await Inbox.open(client, "cli-dev/commands")
            client.publish("cli-dev/telemetry", '{"light": 450}')
            expect((await inbox.nextJson()).json).toMatchObject({ led_on: true })
            await r.waitFor(/Sending message: \{"led_on":true,"seq":\d+,"t":\d+\} to cli-dev/)
        } finally {
            await closeClient(client)
        }
        r.child.kill("SIGTERM")
        expect(await r.exit(5000)).toBe(0)
        expect(r.stdout()).toMatch(/SIGTERM received: shutting down[\s\S]*stopped/)
        expect(r.stdout()).not.toContain("something kept the process alive")
    })

    test("with a client still connected, SIGINT still exits 0 promptly", async () => {
        const r = run(["--no-sim", "--mqtt-port", "0"])
        const [, url] = await r.waitFor(/MQTT broker listening on (mqtt:\/\/127\.0\.0\.1:\d+)/)
        const client = await connectClient(url)
        try {
            r.child.kill("SIGINT")
            expect(await r.exit(5000)).toBe(0)
        } finally {
            await closeClient(client)
        }
    })
})
