/**
 * The dashboard and API behind an access token (as when they listen beyond loopback): a real HttpServer
 * on 127.0.0.1 with a token, real fetch. Scripts send a Bearer header; a browser opens the printed link
 * once and then carries a cookie (EventSource cannot send headers).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { COOKIE_NAME, loadOrCreateToken } from "../../../server/http/access"
import { HttpServer } from "../../../server/http/http-server"
import { MemoryBackend } from "../../helpers/api-backend"
import { HOST, recordingLogger } from "../../helpers/mqtt"

const TOKEN = "correct-horse-battery-staple-42"
let server: HttpServer

beforeAll(async () => {
    server = new HttpServer({
        backend: new MemoryBackend(),
        host: HOST,
        port: 0,
        logger: recordingLogger("silent").logger,
        token: TOKEN,
    })
    await server.start()
})
afterAll(() => server.stop())

const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { headers, redirect: "manual" })

describe("with an access token", () => {
    test("no token: 401 for the API (JSON, naming what to send) and a page asking for it", async () => {
        const api = await get("/api/devices")
        expect(api.status).toBe(401)
        expect(api.headers.get("www-authenticate")).toContain("Bearer")
        expect(((await api.json()) as { error: string }).error).toContain("Authorization: Bearer")
        const page = await get("/")
        expect(page.status).toBe(401)
        expect(await page.text()).toContain('name="token"')
        expect((await get("/app.js")).status).toBe(401)
        expect((await get("/api/events")).status).toBe(401)
    })

    test("a script: the right Bearer token is let in, a wrong one is not", async () => {
        expect((await get("/api/devices", { authorization: `Bearer ${TOKEN}` })).status).toBe(200)
        expect((await get("/api/devices", { authorization: "Bearer wrong-token-wrong-token" })).status).toBe(401)
        expect((await get("/api/devices", { authorization: TOKEN })).status).toBe(401) // not a Bearer header
    })

    test("a browser: the printed link sets an HttpOnly cookie and drops the token from the address", async () => {
        expect(server.loginUrl).toBe(`${server.url}/?token=${TOKEN}`)
        const login = await get(`/?token=${TOKEN}`)
        expect(login.status).toBe(303)
        expect(login.headers.get("location")).toBe("/")
        const cookie = login.headers.get("set-cookie") ?? ""
        expect(cookie).toMatch(new RegExp(`^${COOKIE_NAME}=`))
        expect(cookie).toContain("HttpOnly")
        expect(cookie).toContain("SameSite=Strict")
        const sent = { cookie: cookie.split(";")[0] }
        expect((await get("/", sent)).status).toBe(200)
        const events = await get("/api/events", sent)
        expect(events.status).toBe(200)
        await events.body?.cancel()
        // a wrong token in the link sets nothing
        const wrong = await get("/?token=nope-nope-nope-nope")
        expect(wrong.status).toBe(401)
        expect(wrong.headers.get("set-cookie")).toBeNull()
    })
})

test("the token file: made once with mode 0600, the same token after a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nightlight-token-"))
    try {
        const file = join(dir, "data", "http-token")
        const first = await loadOrCreateToken(file)
        expect(first.created).toBe(true)
        expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
        expect(statSync(file).mode & 0o777).toBe(0o600)
        expect(await loadOrCreateToken(file)).toEqual({ token: first.token, created: false })
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("a client that floods the API gets 429 with Retry-After, and nothing breaks", async () => {
    const open = new HttpServer({
        backend: new MemoryBackend(),
        host: HOST,
        port: 0,
        logger: recordingLogger("silent").logger,
    })
    await open.start()
    try {
        const answers: { status: number; retryAfter: string | null }[] = []
        // bounded: 400 requests, 20 at a time
        for (let round = 0; round < 20; round++)
            answers.push(
                ...(await Promise.all(
                    Array.from({ length: 20 }, () =>
                        fetch(`${open.url}/api/settings`).then(r => ({
                            status: r.status,
                            retryAfter: r.headers.get("retry-after"),
                        }))
                    )
                ))
            )
        expect(answers.filter(a => a.status === 200).length).toBeGreaterThanOrEqual(200) // the burst
        const limited = answers.filter(a => a.status === 429)
        expect(limited.length).toBeGreaterThan(0)
        expect(limited.every(a => a.retryAfter === "1")).toBe(true)
    } finally {
        await open.stop()
    }
})
