/**
 * What an operator sees of an attack: the server as `npm start` runs it, with a user, is attacked with
 * a wrong password, an oversized packet, a publish flood over the rate limit, a made-up id past
 * --max-devices and a dot-only id; each shows in GET /api/stats under its name, and in the dashboard's
 * "Refused and limited" panel in a real browser.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import type { StatsResponse } from "../../server/http/api-types"
import { startServer, type RunningServer } from "../../server/app"
import { saveCredentials } from "../../server/auth/credentials"
import { hashPassword } from "../../server/auth/password-hash"
import { DEFAULT_RATE_LIMIT } from "../../server/util/rate-limit"
import { otherAddress, rawLogin, rawSocket } from "../helpers/attacker"
import { collectPageProblems, launchChromium, skipWithoutChromium } from "../helpers/browser"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { remainingLength } from "../helpers/raw-mqtt"

const PASSWORD = "porch-password-1"
const { logger } = recordingLogger("silent")
let dir: string
let server: RunningServer

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nightlight-counters-"))
    const hash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 })
    const users = new Map([
        ["porch", { role: "device" as const, hash }],
        ["root", { role: "admin" as const, hash }],
    ])
    await saveCredentials(join(dir, "users.json"), users)
    server = await startServer(
        {
            broker: { kind: "embedded", host: HOST, port: 0 },
            threshold: 300,
            dataDir: dir,
            maxDevices: 1,
            http: { enabled: true, host: HOST, port: 0 },
        },
        logger
    )
})

afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
})

async function stats(): Promise<StatsResponse> {
    const response = await fetch(new URL("/api/stats", server.http!.url))
    expect(response.status).toBe(200)
    return (await response.json()) as StatsResponse
}

describe("the abuse counters", () => {
    test("each attack shows in /api/stats under its name", async () => {
        const before = await stats()
        expect(before.broker).toMatchObject({ failedLogins: 0, rateLimited: 0, oversizedPackets: 0 })

        const wrong = await rawLogin(server.broker!.port, otherAddress(1), "porch", "guess")
        wrong.socket.destroy()
        expect(wrong.code).toBe(4)

        const big = await rawSocket(server.broker!.port, otherAddress(2))
        big.socket.write(Buffer.concat([Buffer.from([0x30]), remainingLength(10 * 1024 * 1024)]))
        await big.closed

        const port = Number(new URL(server.brokerUrl).port)
        const url = `mqtt://${HOST}:${port}`
        const porch = await connectClient(url, { username: "porch", password: PASSWORD })
        const root = await connectClient(url, { username: "root", password: PASSWORD })
        try {
            // the device floods past its burst; the admin (not rate-limited) speaks for a new id and a dot-only one
            const flood = DEFAULT_RATE_LIMIT.burst + 500
            for (let i = 0; i < flood; i++) porch.publish("porch/telemetry", '{"light": 500}')
            for (let waited = 0; waited < 10_000; waited += 100) {
                const now = await stats()
                if (now.server.received + now.broker!.rateLimited >= flood) break
                await new Promise(resolve => setTimeout(resolve, 100))
            }
            root.publish("newcomer/telemetry", '{"light": 500}')
            root.publish("../telemetry", '{"light": 500}')
            await until("the newcomer to be refused", () => server.controller.stats().devicesRefused === 1)
        } finally {
            await closeClient(porch)
            await closeClient(root)
        }
        const after = await stats()
        expect(after.broker!.failedLogins).toBe(1)
        expect(after.broker!.oversizedPackets).toBe(1)
        expect(after.broker!.rateLimited).toBeGreaterThan(0)
        expect(after.server.received + after.broker!.rateLimited).toBeGreaterThanOrEqual(DEFAULT_RATE_LIMIT.burst + 502)
        expect(after.server.devicesRefused).toBe(1)
        expect(after.rejected.bad_topic).toBe(1)
        expect(after.http).toMatchObject({ liveStreamsRefused: 0, requestsRateLimited: 0 })
        expect(server.stats().broker).toEqual(after.broker) // in process too
        for (const name of ["lockedOut", "slowedDown", "busy", "takeoversRefused", "refusedPerAddress", "timedOut"])
            expect(after.broker![name], name).toBe(0)
    })

    test.skipIf(skipWithoutChromium("test/hostile/abuse-counters.test.ts", "The dashboard's counters panel"))(
        "the dashboard's panel shows them; the ones above zero stand out",
        async () => {
            let browser: Browser | undefined
            try {
                browser = await launchChromium()
                const page = await browser.newPage()
                const problems = collectPageProblems(page)
                await page.goto(server.http!.url)
                const failed = page.locator('[data-testid="stats-table"] tr', { hasText: "failed logins" })
                await failed.waitFor({ timeout: 10_000 })
                expect(await failed.locator("td").textContent()).toBe("1")
                expect(await failed.getAttribute("class")).toBe("nonzero")
                const cutOff = page.locator('[data-testid="stats-table"] tr', { hasText: "oversized packet" })
                expect(await cutOff.locator("td").textContent()).toBe("1")
                const pastCap = page.locator('[data-testid="stats-table"] tr', { hasText: "registry full" })
                expect(await pastCap.locator("td").textContent()).toBe("1")
                expect(await page.getByTestId("stats-status").textContent()).toMatch(/in all since the start/)
                expect(problems).toEqual([])
            } finally {
                await browser?.close()
            }
        }
    )
})
