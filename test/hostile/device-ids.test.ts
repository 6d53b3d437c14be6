/**
 * An attacker's client chooses the device id: it is the first level of the topic it publishes on. An id
 * made only of dots (".", "..") is a path segment every URL parser folds away, so the dashboard's
 * `/api/devices/../history` would become `/api/history`: such ids are refused wherever an id is
 * accepted. Every id that is accepted must work in every API route, through the URL the page builds.
 */
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { isValidUsername } from "../../server/auth/credentials"
import { parseGroups } from "../../server/groups/config"
import { isValidDeviceId } from "../../server/protocol/contract"
import { SettingsError, parseSettings } from "../../server/config/settings"
import { collectPageProblems, launchChromium, skipWithoutChromium } from "../helpers/browser"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

const DOTS = [".", "..", "...", "...................."]
/** Dots with something else: ordinary path segments, so they stay valid. */
const ODD_BUT_VALID = ["a..b", ".hidden", "x.", "..x", ":", "-", "_"]

let server: RunningServer
const { logger } = recordingLogger("silent")

beforeAll(async () => {
    server = await startServer(
        {
            broker: { kind: "embedded", host: HOST, port: 0 },
            threshold: 300,
            http: { enabled: true, host: HOST, port: 0 },
        },
        logger
    )
})

afterAll(async () => {
    await server?.stop()
})

/** The URL the dashboard asks for a device's history (web/api.ts), as a browser's URL parser reads it. */
function historyUrl(id: string): URL {
    return new URL(`/api/devices/${encodeURIComponent(id)}/history`, server.http!.url)
}

describe("device ids made only of dots", () => {
    test("are refused on MQTT: counted as a bad topic, never a device of the registry, the API or the page", async () => {
        const client = await connectClient(server.brokerUrl)
        try {
            for (const id of [...DOTS, ...ODD_BUT_VALID]) client.publish(`${id}/telemetry`, '{"light": 100}')
            await until("the valid odd ids to be known", () =>
                ODD_BUT_VALID.every(id => server.controller.device(id) !== undefined)
            )
            await until("the dot-only ids to be counted", () => server.controller.stats().rejected.bad_topic >= 4)
        } finally {
            await closeClient(client)
        }
        for (const id of DOTS) expect(server.controller.device(id), id).toBeUndefined()
        const listed = (await (await fetch(new URL("/api/devices", server.http!.url))).json()) as {
            devices: { id: string }[]
        }
        expect(listed.devices.map(d => d.id).sort()).toEqual([...ODD_BUT_VALID].sort())
    })

    test("every accepted id keeps its own URL and works in every device route", async () => {
        for (const id of ODD_BUT_VALID) {
            expect(historyUrl(id).pathname, id).toBe(`/api/devices/${encodeURIComponent(id)}/history`)
            const one = await fetch(new URL(`/api/devices/${encodeURIComponent(id)}`, server.http!.url))
            expect(one.status, id).toBe(200)
            expect(((await one.json()) as { id: string }).id).toBe(id)
            const history = await fetch(historyUrl(id))
            expect(history.status, id).toBe(200)
            expect(((await history.json()) as { device: string }).device).toBe(id)
        }
    })

    test.skipIf(skipWithoutChromium("test/hostile/device-ids.test.ts", "Odd device ids in the dashboard"))(
        "every accepted odd id gets its card and its chart's history in the page",
        async () => {
            let browser: Browser | undefined
            try {
                browser = await launchChromium()
                const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
                const problems = collectPageProblems(page)
                await page.goto(server.http!.url)
                for (const id of ODD_BUT_VALID) {
                    const card = page.locator(`[data-testid="device-card"][data-device-id="${id}"]`)
                    await card.scrollIntoViewIfNeeded({ timeout: 10_000 })
                    const chart = card.getByTestId("device-chart")
                    await expect
                        .poll(async () => Number(await chart.getAttribute("data-points")), { timeout: 10_000 })
                        .toBeGreaterThan(0)
                    expect(await card.getByTestId("device-chart-status").textContent(), id).not.toMatch(/not available/)
                }
                for (const id of DOTS) expect(await page.locator(`[data-device-id="${id}"]`).count(), id).toBe(0)
                expect(problems).toEqual([])
            } finally {
                await browser?.close()
            }
        }
    )

    test("are refused as a user name, a simulated device's id and a group member, the rule saying why", () => {
        for (const id of DOTS) {
            expect(isValidDeviceId(id), id).toBe(false)
            expect(isValidUsername(id), id).toBe(false)
            expect(() => parseSettings(["--sim-id", id], {}), id).toThrow(SettingsError)
            expect(() => parseSettings(["--sim-id", id], {})).toThrow(/not only dots/)
        }
        for (const id of ODD_BUT_VALID) expect(isValidDeviceId(id), id).toBe(true)
        const groups = JSON.stringify({ version: 1, groups: { porch: { members: [".."] } } })
        expect(() => parseGroups(groups, "groups.json")).toThrow(/"\.\." is not a valid device id.*not only dots/)
        // a group's name is in its API URL too (/api/groups/<name>)
        const named = JSON.stringify({ version: 1, groups: { "..": { members: ["porch"] } } })
        expect(() => parseGroups(named, "groups.json")).toThrow(/not a valid group name.*not only dots/)
    })
})
