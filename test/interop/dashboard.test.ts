// What a new user sees on the dashboard (issue 15, item 8), in headless Chromium on the real server
// (embedded broker, SQLite in a temp folder, dashboard on a free port) with lesson-style devices sending
// plain `{"light": N}` over real MQTT (no status, no LED report). Each check reads what is on screen:
// card texts, and the chart's pixels (test/helpers/chart-pixels.ts). The page's clock is pinned to a
// whole minute, so a time label falls on the chart's right edge. Screenshots land in test-results/.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { MqttClient } from "mqtt"
import type { Browser, Locator, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DATABASE_FILE, startServer, type RunningServer } from "../../server/app"
import { Store } from "../../server/store"
import { collectPageProblems, launchChromium, skipWithoutChromium } from "../helpers/browser"
import { ChartPixels } from "../helpers/chart-pixels"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { runSteps } from "../helpers/teardown"

const SKIP = skipWithoutChromium("test/interop/dashboard.test.ts", "The dashboard's cards and charts in a browser")
const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url))
/** The rule before the server started (in the history), and the one it starts with. */
const OLD = { threshold: 300, band: 100 }
const NOW = { threshold: 600, band: 100 }
/** Lesson devices: "attic" sent one reading (250); "hall" has 8 minutes of history at 900; "porch" (900) is switched on by hand. */
const DEVICES = ["attic", "hall", "porch"]
/** Light units per pixel of a 160 px chart are ~6.4: a drawn level is read to within this. */
const DRAWN_LIGHT_TOLERANCE = 30

describe.skipIf(SKIP)("the dashboard's cards and charts, in headless Chromium", () => {
    const { logger } = recordingLogger("warn")
    let dir: string | undefined
    let server: RunningServer | undefined
    let device: MqttClient | undefined
    let browser: Browser | undefined
    let page: Page
    let problems: string[]
    /** The page's clock: a whole minute, 30-90 s ahead of the readings. */
    let pageNow: number

    beforeAll(async () => {
        mkdirSync(RESULTS_DIR, { recursive: true })
        dir = mkdtempSync(join(tmpdir(), "nightlight-dashboard-cards-"))
        const serverStart = Date.now()
        // Before this start the server ran with 300: its log says so from 10 minutes ago.
        const before = new Store(join(dir, DATABASE_FILE))
        before.open()
        before.settingsLog.record(serverStart - 10 * 60_000, OLD)
        before.close()
        const launching = launchChromium()
        server = await startServer(
            {
                broker: { kind: "embedded", host: HOST, port: 0 },
                ...NOW,
                dataDir: dir,
                http: { enabled: true, host: HOST, port: 0 },
            },
            logger
        )
        device = await connectClient(server.brokerUrl)
        for (const id of DEVICES)
            device.publish(`${id}/telemetry`, JSON.stringify({ light: id === "attic" ? 250 : 900 }))
        await until("the server knows every device", () => DEVICES.every(id => server!.store.registry.peek(id)))
        // hall's last 8 minutes, a reading every 20 s, all bright (the LED off, out of the band's way)
        for (let t = serverStart - 8 * 60_000; t < serverStart - 10_000; t += 20_000)
            server.store.history.addReading("hall", t, 900, false)
        server.store.flushHistory()
        expect(server.controller.override("porch", true)).toBe(true)
        await until(
            "porch's switch is recorded",
            () => server!.store.registry.peek("porch")?.lastCommand?.reason === "manual"
        )

        browser = await launching
        page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
        page.setDefaultTimeout(2000)
        problems = collectPageProblems(page)
        pageNow = Math.ceil((Date.now() + 30_000) / 60_000) * 60_000
        await page.clock.setFixedTime(pageNow)
        await page.goto(server.http!.url)
        await page.waitForSelector('[data-testid="live-badge"][data-state="live"]', { timeout: 5000 })
    })

    afterAll(async () => {
        const steps: [string, () => Promise<void> | void][] = [
            ["close the browser", () => browser?.close()],
            ["close the device", () => closeClient(device)],
            ["stop the server", () => server?.stop()],
            [
                "remove the data folder",
                () => {
                    if (dir) rmSync(dir, { recursive: true, force: true })
                },
            ],
        ]
        await runSteps(steps)
    })

    const within = (timeout: number) => ({ timeout, interval: 100 })
    const card = (id: string): Locator => page.locator(`[data-testid="device-card"][data-device-id="${id}"]`)
    /** The card's chart, on screen (charts exist only for cards in view), once it has drawn its history. */
    async function chartOf(id: string): Promise<Locator> {
        await card(id).scrollIntoViewIfNeeded()
        const chart = card(id).getByTestId("device-chart")
        await expect.poll(async () => Number(await chart.getAttribute("data-points")), within(5000)).toBeGreaterThan(0)
        await page.evaluate("new Promise(resolve => requestAnimationFrame(resolve))")
        return chart
    }
    const pixels = async (chart: Locator) => {
        const read = await ChartPixels.read(chart)
        if (!read) throw new Error("the chart has no canvas")
        return read
    }
    const shoot = (name: string, target: Page | Locator = page) =>
        target.screenshot({ path: join(RESULTS_DIR, `dashboard-${name}.png`) })

    it("a device with one reading has its point drawn", async () => {
        const chart = await chartOf("attic")
        await shoot("one-reading", card("attic"))
        expect(await chart.getAttribute("data-points")).toBe("1")
        const drawn = await pixels(chart)
        expect(drawn.lightPixels()).toBeGreaterThan(0)
        expect(drawn.lastDrawnLight()).toBeCloseTo(250, closeTo(DRAWN_LIGHT_TOLERANCE))
    })

    it("the threshold band is drawn as it was: 300 before this start, 600 since", async () => {
        const chart = await chartOf("hall")
        await shoot("band-history", card("hall"))
        const drawn = await pixels(chart)
        // 8 minutes back: the rule of then
        const early = drawn.bandAt(0.1)
        expect(early?.lower).toBeCloseTo(OLD.threshold, closeTo(DRAWN_LIGHT_TOLERANCE))
        expect(early?.upper).toBeCloseTo(OLD.threshold + OLD.band, closeTo(DRAWN_LIGHT_TOLERANCE))
        // the last moments: the rule of now
        const late = drawn.bandAt(0.99)
        expect(late?.lower).toBeCloseTo(NOW.threshold, closeTo(DRAWN_LIGHT_TOLERANCE))
        expect(late?.upper).toBeCloseTo(NOW.threshold + NOW.band, closeTo(DRAWN_LIGHT_TOLERANCE))
    })

    it("the chart's last time label is whole, not cut at the right edge", async () => {
        // attic's span is short (ticks every 30 s) and the page's clock sits on a whole minute: the last
        // label is centred on the plot's right edge...
        const attic = await pixels(await chartOf("attic"))
        expect(attic.xAxisTextRight(), "a time label reaches past the plot's right edge").toBeGreaterThan(
            attic.plot.left + attic.plot.width
        )
        // ...and all of it is on the canvas, with a little room to spare; hall's too
        expect(attic.xAxisTextRight(), "attic's last time label ends inside the canvas").toBeLessThan(attic.width - 2)
        const hall = await pixels(await chartOf("hall"))
        expect(hall.xAxisTextRight(), "hall's last time label ends inside the canvas").toBeLessThan(hall.width - 2)
    })

    it("a device that sends no status says so, instead of a bare 'unknown'", async () => {
        const attic = card("attic")
        await expect.poll(() => attic.getByTestId("device-online").textContent(), within(2000)).toBe("no status")
        const note = attic.getByTestId("device-online-note")
        await expect(note.isVisible()).resolves.toBe(true)
        expect(await note.textContent()).toMatch(/sends no attic\/status.*last seen/i)
    })

    it("a person's switch shows as decided by a person, not by the server", async () => {
        await card("porch").scrollIntoViewIfNeeded()
        await shoot("switched-by-hand", card("porch"))
        expect(await card("porch").getByTestId("device-decider").textContent()).toMatch(/^a person \(by hand/)
        expect(await card("attic").getByTestId("device-decider").textContent()).toBe("server")
    })

    it("the device count follows the filter", async () => {
        const count = page.getByTestId("device-count")
        expect(await count.textContent()).toBe("(3)")
        await page.getByTestId("device-filter").fill("att")
        await expect.poll(() => count.textContent(), within(2000)).toBe("(1 of 3)")
        await shoot("filtered")
        await page.getByTestId("device-filter").fill("")
        await expect.poll(() => count.textContent(), within(2000)).toBe("(3)")
    })

    it("before the live stream connects, the page says it is connecting, not 'No devices yet' or 'No groups'", async () => {
        const waiting = await browser!.newPage({ viewport: { width: 1280, height: 600 } })
        try {
            // the stream (the page opens its fleet view, /api/events?view=fleet) never answers: the page
            // stays as it is before its first "hello"
            await waiting.route(
                url => url.pathname === "/api/events",
                () => undefined
            )
            await waiting.goto(server!.http!.url)
            const empty = waiting.getByTestId("devices-empty")
            await expect.poll(() => empty.isVisible(), within(2000)).toBe(true)
            expect(await empty.textContent()).toMatch(/^Connecting to the server/)
            // no group is known yet either way: the connected page below says "No groups"
            expect(await waiting.getByTestId("groups-empty").isVisible()).toBe(false)
            expect(await page.getByTestId("groups-empty").isVisible()).toBe(true)
            await waiting.screenshot({ path: join(RESULTS_DIR, "dashboard-connecting.png") })
        } finally {
            await waiting.close()
        }
    })

    it("a change of the rule moves the band from then on, not over the past", async () => {
        const response = await fetch(`${server!.http!.url}/api/settings`, {
            method: "PATCH",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ threshold: 200 }),
        })
        expect(response.status).toBe(200)
        const chart = await chartOf("hall")
        // the change is now (the server's clock), 30-90 s before the page's: the right end shows it
        await expect
            .poll(async () => (await pixels(chart)).bandAt(0.99)?.lower, within(3000))
            .toBeCloseTo(200, closeTo(DRAWN_LIGHT_TOLERANCE))
        await shoot("band-changed", card("hall"))
        const drawn = await pixels(chart)
        expect(drawn.bandAt(0.99)?.upper).toBeCloseTo(300, closeTo(DRAWN_LIGHT_TOLERANCE))
        expect(drawn.bandAt(0.1)?.lower).toBeCloseTo(OLD.threshold, closeTo(DRAWN_LIGHT_TOLERANCE))
    })

    it("the whole page, and no error in it", async () => {
        await page.screenshot({ path: join(RESULTS_DIR, "dashboard-cards.png"), fullPage: true })
        expect(problems).toEqual([])
    })
})

/** toBeCloseTo counts decimal digits; this turns "within ± n" into its precision argument. */
function closeTo(tolerance: number): number {
    return -Math.log10(2 * tolerance)
}
