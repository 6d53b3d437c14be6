/**
 * The credentials file and its password hashes (server/auth/credentials.ts, password-hash.ts) and the
 * users the running broker reads from it (user-store.ts): real files in a temp dir, real scrypt.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, test } from "vitest"
import {
    CredentialsError,
    formatCredentials,
    loadCredentials,
    parseCredentials,
    saveCredentials,
    type Users,
} from "../../../server/auth/credentials"
import { HASH_DEFAULTS, generatePassword, hashPassword, verifyPassword } from "../../../server/auth/password-hash"
import { UserStore } from "../../../server/auth/user-store"
import { recordingLogger } from "../../helpers/mqtt"

const dir = mkdtempSync(join(tmpdir(), "nightlight-credentials-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
/** Cheap hashes for tests that are not about the cost (the parameters travel with each hash). */
const FAST = { N: 1024, r: 8, p: 1 }

describe("password hashes", () => {
    test("scrypt with its parameters, a 16-byte salt and a 32-byte key; the right password only", async () => {
        const hash = await hashPassword("correct horse", FAST)
        const [scheme, N, r, p, salt, key] = hash.split(":")
        expect([scheme, N, r, p]).toEqual(["scrypt", "1024", "8", "1"])
        expect(Buffer.from(salt, "base64")).toHaveLength(16)
        expect(Buffer.from(key, "base64")).toHaveLength(32)
        expect(await verifyPassword("correct horse", hash)).toBe(true)
        expect(await verifyPassword("correct horsf", hash)).toBe(false)
        expect(await verifyPassword("", hash)).toBe(false)
        expect(await hashPassword("correct horse", FAST)).not.toBe(hash) // a new salt each time
    })

    test("a tampered or unreadable hash never verifies", async () => {
        const hash = await hashPassword("pw-pw-pw-pw", FAST)
        const parts = hash.split(":")
        const key = Buffer.from(parts[5], "base64")
        key[0] ^= 1
        expect(await verifyPassword("pw-pw-pw-pw", [...parts.slice(0, 5), key.toString("base64")].join(":"))).toBe(
            false
        )
        for (const bad of ["", "plain", "scrypt:3:8:1:AAAA:BBBB", hash.replace(":8:", ":0:"), `${hash}:extra`])
            expect(await verifyPassword("pw-pw-pw-pw", bad)).toBe(false)
    })

    test("the default cost: measured, bounded, and the event loop keeps turning during a check", async () => {
        const hash = await hashPassword("a password", HASH_DEFAULTS)
        expect(hash.startsWith(`scrypt:${2 ** 15}:8:1:`)).toBe(true)
        let ticks = 0
        const timer = setInterval(() => ticks++, 2)
        const times: number[] = []
        try {
            for (let i = 0; i < 3; i++) {
                const start = performance.now()
                expect(await verifyPassword("a password", hash)).toBe(true)
                times.push(performance.now() - start)
            }
        } finally {
            clearInterval(timer)
        }
        console.log(`scrypt N=2^15 r=8 p=1, one check: ${times.map(t => t.toFixed(0)).join(", ")} ms`)
        expect(Math.min(...times)).toBeGreaterThan(10) // slow on purpose
        expect(Math.max(...times)).toBeLessThan(2000)
        expect(ticks).toBeGreaterThan(3) // a synchronous scrypt would have let no timer run
    })

    test("generated passwords: 32 characters, safe in an .env line, all different", () => {
        const passwords = new Set(Array.from({ length: 50 }, generatePassword))
        expect(passwords.size).toBe(50)
        for (const p of passwords) expect(p).toMatch(/^[A-Za-z0-9_-]{32}$/)
    })
})

describe("the credentials file", () => {
    const file = "users.json"
    const entry = async (role: string) => ({ role, hash: await hashPassword("pw-pw-pw-pw", FAST) })

    test("version 1: users by name with role and hash", async () => {
        const text = JSON.stringify({
            version: 1,
            users: { porch: await entry("device"), ha: await entry("home-assistant") },
        })
        const users = parseCredentials(text, file)
        expect([...users.keys()]).toEqual(["porch", "ha"])
        expect(users.get("ha")!.role).toBe("home-assistant")
    })

    test.each([
        ["{", /users\.json: not valid JSON/],
        ["[]", /users\.json: expected a JSON object/],
        ['{"users": {}}', /users\.json: "version" is missing; this server reads version 1/],
        ['{"version": 2, "users": {}}', /"version" is 2/],
        ['{"version": 1, "users": []}', /users\.json: "users" must be an object/],
        ['{"version": 1, "users": {"a/b": {}}}', /users\.json: user "a\/b": a username is 1-64 letters/],
        ['{"version": 1, "users": {"porch": 3}}', /user "porch": expected \{ "role"/],
        [
            '{"version": 1, "users": {"porch": {"role": "king"}}}',
            /user "porch": "role" is "king"; expected one of device, server/,
        ],
        ['{"version": 1, "users": {"porch": {"role": "device"}}}', /user "porch": "hash" is missing/],
        ['{"version": 1, "users": {"porch": {"role": "device", "hash": "md5:x"}}}', /user "porch": unreadable "hash"/],
    ])("%s is refused with a message naming the file and the entry", (text, message) => {
        expect(() => parseCredentials(text, file)).toThrow(CredentialsError)
        expect(() => parseCredentials(text, file)).toThrow(message)
    })

    test("saved atomically with mode 0600, sorted, and read back; no temporary file left", async () => {
        const path = join(dir, "saved.json")
        const users: Users = new Map([
            ["zeta", { role: "device", hash: await hashPassword("pw-pw-pw-pw", FAST) }],
            ["alpha", { role: "observer", hash: await hashPassword("pw-pw-pw-pw", FAST) }],
        ])
        await saveCredentials(path, users)
        expect(statSync(path).mode & 0o777).toBe(0o600)
        expect(readFileSync(path, "utf8")).toBe(formatCredentials(users))
        expect(Object.keys(JSON.parse(readFileSync(path, "utf8")).users)).toEqual(["alpha", "zeta"])
        const loaded = await loadCredentials(path)
        expect(loaded).toEqual({ users: new Map([...users].sort()), warnings: [] })
        expect(readdirSync(dir).filter(f => f.endsWith(".tmp"))).toEqual([])
    })

    test("a file others can read loads with a warning that says how to fix it", async () => {
        const path = join(dir, "open.json")
        await saveCredentials(path, new Map())
        chmodSync(path, 0o644)
        const loaded = await loadCredentials(path)
        expect(loaded!.warnings).toEqual([
            expect.stringContaining(`can be read by other users of this machine (mode 644)`),
        ])
        expect(loaded!.warnings[0]).toContain(`chmod 600 ${path}`)
    })

    test("no file is not an error (no users); an unreadable path is, naming it", async () => {
        expect(await loadCredentials(join(dir, "missing.json"))).toBeUndefined()
        await expect(loadCredentials(dir)).rejects.toThrow(`cannot read the credentials file ${dir}: it is a directory`)
        await expect(saveCredentials(join(dir, "no-such-dir", "u.json"), new Map())).rejects.toThrow(
            /cannot write the credentials file .*no-such-dir.*: no such file or directory/
        )
    })
})

describe("the users while the server runs", () => {
    test("changes to the file are picked up; changed and removed users are reported; a broken file is kept out", async () => {
        const path = join(dir, "live.json")
        const hash = async (pw: string) => hashPassword(pw, FAST)
        await saveCredentials(path, new Map([["porch", { role: "device", hash: await hash("one-one-one") }]]))
        const { logger, lines } = recordingLogger("info")
        const store = new UserStore({ file: path, logger, pollMs: 60_000 })
        const changed: string[][] = []
        store.onChange(names => changed.push(names))
        expect(await store.start()).toEqual({ users: 1, exists: true, warnings: [] })
        try {
            const porch = store.get("porch")!
            await saveCredentials(
                path,
                new Map([
                    ["porch", porch],
                    ["kitchen", { role: "device", hash: await hash("two-two-two") }],
                ])
            )
            await store.poll()
            expect(store.get("kitchen")?.role).toBe("device")
            expect(changed).toEqual([]) // nobody lost anything

            await saveCredentials(path, new Map([["porch", { role: "device", hash: await hash("new-new-new") }]]))
            await store.poll()
            expect(changed.map(names => names.sort())).toEqual([["kitchen", "porch"]]) // porch's password changed, kitchen was removed

            writeFileSync(path, "{ broken", { mode: 0o600 })
            await store.poll()
            expect(store.get("porch")).toBeDefined() // the users read before stay
            expect(lines.join("")).toContain(`${path}: not valid JSON`)

            rmSync(path)
            await store.poll()
            expect(store.get("porch")).toBeUndefined()
            expect(lines.join("")).toContain(`${path} was removed: no user can log in until it is back`)

            const password = await store.addEphemeral("nightlight-sim", "device")
            expect(await verifyPassword(password, store.get("nightlight-sim")!.hash)).toBe(true)
        } finally {
            store.stop()
        }
    })
})
