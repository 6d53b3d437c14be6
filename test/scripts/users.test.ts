/**
 * `npm run users` as a user runs it: scripts/users.ts in a child process (node + tsx), passwords piped
 * on standard input, a real credentials file in a temp dir. Async spawn, never spawnSync (which would
 * freeze a test process that also runs a broker).
 */
import { spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, test } from "vitest"
import { parseCredentials } from "../../server/auth/credentials"
import { verifyPassword } from "../../server/auth/password-hash"
import { within } from "../helpers/mqtt"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "nightlight-users-cli-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Result {
    code: number | null
    stdout: string
    stderr: string
}

async function users(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Result> {
    const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NIGHTLIGHT_")))
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/users.ts", ...args], {
        cwd: ROOT,
        env: { ...cleanEnv, NO_COLOR: "1", ...options.env },
        stdio: ["pipe", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.stdin.end(options.stdin ?? "")
    const [code] = await within(20_000, `npm run users -- ${args.join(" ")}`, once(child, "exit"))
    return { code: code as number | null, stdout, stderr }
}

const read = (file: string) => parseCredentials(readFileSync(file, "utf8"), file)

describe("npm run users", () => {
    test("add a device with a piped password: saved hashed, mode 0600, and the device's settings shown", async () => {
        const file = join(dir, "add.json")
        const r = await users(["add", "porch", "--role", "device", "--password-stdin", "--file", file], {
            stdin: "porch-password\n",
        })
        expect(r).toMatchObject({ code: 0, stderr: "" })
        expect(r.stdout).toContain(`added porch (device) to ${file}`)
        expect(r.stdout).toContain('DEVICE_ID="porch"\n  MQTT_USER="porch"\n  MQTT_PASS="<the password>"')
        expect(r.stdout).not.toContain("porch-password")
        const entry = read(file).get("porch")!
        expect(entry.role).toBe("device")
        expect(await verifyPassword("porch-password", entry.hash)).toBe(true)
        expect(readFileSync(file, "utf8")).not.toContain("porch-password")
        expect(statSync(file).mode & 0o777).toBe(0o600)
    })

    test("--generate prints a strong password once; passwd replaces it; list shows roles only; remove", async () => {
        const file = join(dir, "cycle.json")
        const added = await users(["add", "kitchen", "--role", "device", "--generate", "--file", file])
        expect(added.code).toBe(0)
        const password = /password \(shown only now\): (\S+)/.exec(added.stdout)![1]
        expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/)
        expect(added.stdout).toContain(`MQTT_PASS="${password}"`)
        expect(await verifyPassword(password, read(file).get("kitchen")!.hash)).toBe(true)

        const ha = await users(
            ["add", "homeassistant", "--role", "home-assistant", "--password-stdin", "--file", file],
            {
                stdin: "ha password with spaces\n",
            }
        )
        expect(ha.code).toBe(0)
        expect(ha.stdout).not.toContain("MQTT_PASS") // only devices get .env lines

        const changed = await users(["passwd", "kitchen", "--password-stdin", "--file", file], {
            stdin: "a-new-password",
        })
        expect(changed).toMatchObject({ code: 0 })
        expect(changed.stdout).toContain(`new password for kitchen in ${file}`)
        const hash = read(file).get("kitchen")!.hash
        expect(await verifyPassword("a-new-password", hash)).toBe(true)
        expect(await verifyPassword(password, hash)).toBe(false)

        const listed = await users(["list", "--file", file])
        expect(listed).toMatchObject({ code: 0, stdout: "homeassistant  home-assistant\nkitchen        device\n" })

        expect(await users(["remove", "kitchen", "--file", file])).toMatchObject({ code: 0 })
        expect([...read(file).keys()]).toEqual(["homeassistant"])
        const again = await users(["remove", "kitchen", "--file", file])
        expect(again).toMatchObject({ code: 1, stderr: `error: there is no user kitchen in ${file}\n` })
    })

    test("the file: $NIGHTLIGHT_USERS, else users.json in $NIGHTLIGHT_DATA_DIR", async () => {
        const viaUsers = join(dir, "env-users.json")
        const dataDir = join(dir, "data")
        const stdin = "pw-pw-pw-pw\n"
        const args = ["add", "a", "--role", "observer", "--password-stdin"]
        expect(await users(args, { stdin, env: { NIGHTLIGHT_USERS: viaUsers } })).toMatchObject({ code: 0 })
        expect(await users(args, { stdin, env: { NIGHTLIGHT_DATA_DIR: dataDir } })).toMatchObject({ code: 0 })
        expect(read(viaUsers).has("a")).toBe(true)
        expect(read(join(dataDir, "users.json")).has("a")).toBe(true)
    })

    test.each([
        [["add", "porch", "hunter22", "--role", "device"], "passwords are never given on the command line"],
        [["add", "porch", "--role", "king", "--generate"], 'unknown role "king"; one of device, server'],
        [["add", "porch/x", "--role", "device", "--generate"], '"porch/x" is not a valid name'],
        [["add", "porch", "--generate"], "add needs --role"],
        [["add", "porch", "--role", "device"], "standard input is not a terminal: use --password-stdin or --generate"],
        [["add", "porch", "--role", "device", "--password-stdin"], "the password is too short", "short\n"],
        [
            ["add", "porch", "--role", "device", "--password-stdin"],
            "a device's password cannot hold",
            "has#hash-sign\n",
        ],
        [["add", "porch", "--role", "device", "--password-stdin"], "standard input is empty", ""],
        [["frobnicate"], 'unknown command "frobnicate"'],
        [["add", "porch", "--role", "device", "--bogus"], "unknown option --bogus (see --help)"],
        [
            ["add", "porch", "--role", "device", "--password", "hunter22"],
            "--password: a password is never given on the command line, where shell history and ps keep it; " +
                "type it at the prompt, or pipe it in with --password-stdin, or use --generate",
        ],
        [["add", "porch", "--role", "device", "--password=hunter22"], "pipe it in with --password-stdin"],
    ])("usage error %j: exit 2, one line", async (args, message, stdin?: string) => {
        const file = join(dir, "usage.json")
        const r = await users([...args, "--file", file], { stdin })
        expect(r.code).toBe(2)
        expect(r.stderr).toContain(message)
        expect(r.stderr.trim().split("\n")).toHaveLength(1)
        expect(() => statSync(file)).toThrow() // nothing written
    })

    test("failures: exit 1, one line naming the file", async () => {
        const file = join(dir, "fail.json")
        const stdin = "pw-pw-pw-pw\n"
        expect(
            await users(["add", "porch", "--role", "device", "--password-stdin", "--file", file], { stdin })
        ).toMatchObject({
            code: 0,
        })
        const twice = await users(["add", "porch", "--role", "device", "--password-stdin", "--file", file], { stdin })
        expect(twice).toMatchObject({
            code: 1,
            stderr: `error: porch is already in ${file}; use passwd to change its password\n`,
        })
        expect(await users(["passwd", "nobody", "--generate", "--file", file])).toMatchObject({ code: 1 })
        writeFileSync(join(dir, "broken.json"), '{"version": 1, "users": {"porch": {"role": "king"}}}')
        const broken = await users(["list", "--file", join(dir, "broken.json")])
        expect(broken.code).toBe(1)
        expect(broken.stderr).toMatch(/^error: .*broken\.json: user "porch": "role" is "king"/)
    })
})
