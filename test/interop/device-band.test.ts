// A device's chart draws the band it is judged by (issue 18), in headless Chromium on the real server
// (embedded broker, dashboard on a free port) with devices known over real MQTT: a device with its own
// threshold of 600 draws its band at 600, the fleet's 300 before the override was set, and moves live
// when its override or the fleet's rule changes, while another device keeps the fleet's. Read from the
// charts' pixels (test/helpers/chart-pixels.ts); the page's clock is pinned 30-90 s ahead of the
// server's, so a change made now lies well inside the chart. Screenshots land in test-results/.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser, Locator, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DATABASE_FILE, startServer, type RunningServer } from "../../server/app"
import { Store } from "../../server/store"
import { collectPageProblems, launchChromium, skipWithoutChromium } from "../helpers/browser"
import { ChartPixels } from "../helpers/chart-pixels"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { runSteps } from "../helpers/teardown"

const SKIP = skipWithoutChromium("test/interop/device-band.test.ts", "A device's own band on its chart")
const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url))
/** Light units per pixel of a 160 px chart are ~6.4: a drawn level is read to within this. */
const DRAWN_LIGHT_TOLERANCE = 30
const closeTo = (tolerance: number) => -Math.log10(2 * tolerance)

describe.skipIf(SKIP)("a device's own threshold band on its charts, in headless Chromium", () => {
    const { logger } = recordingLogger("warn")
    let dir: string | undefined
    let server: RunningServer | undefined
    let browser: Browser | undefined
    let page: Page
    let problems: string[]

    beforeAll(async () => {
        mkdirSync(RESULTS_DIR, { recursive: true })
        const launching = launchChromium()
        dir = mkdtempSync(join(tmpdir(), "nightlight-device-band-"))
        // the fleet's 300 from 10 minutes ago: the charts' past has a band on record
        const before = new Store(join(dir, DATABASE_FILE))
        before.open()
        before.settingsLog.record(Date.now() - 10 * 60_000, { threshold: 300, band: 100 })
        before.close()
        server = await startServer(
            {
                broker: { kind: "embedded", host: HOST, port: 0 },
                threshold: 300,
                band: 100,
                dataDir: dir,
                http: { enabled: true, host: HOST, port: 0 },
            },
            logger
        )
        const device = await connectClient(server.brokerUrl)
        for (const id of ["hall", "attic"]) await device.publishAsync(`${id}/telemetry`, '{"light": 900}', { qos: 1 })
        await until("the server knows both", () => ["hall", "attic"].every(id => server!.store.registry.peek(id)))
        await closeClient(device)
        // their last 8 minutes, a reading every 20 s, all bright (the LED off, out of the band's way)
        const start = Date.now()
        for (const id of ["hall", "attic"])
            for (let t = start - 8 * 60_000; t < start - 10_000; t += 20_000)
                server.store.history.addReading(id, t, 900, false)
        server.store.flushHistory()
        await api("PATCH", "/api/device-config/devices/hall", { threshold: 600 })

        browser = await launching
        page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
        page.setDefaultTimeout(5000)
        problems = collectPageProblems(page)
        await page.clock.setFixedTime(Math.ceil((Date.now() + 30_000) / 60_000) * 60_000)
        await page.goto(server.http!.url)
        await page.waitForSelector('[data-testid="live-badge"][data-state="live"]', { timeout: 5000 })
    }, 60_000)

    afterAll(async () => {
        await runSteps([
            ["close the browser", () => browser?.close()],
            ["stop the server", () => server?.stop()],
            ["remove the folder", () => dir && rmSync(dir, { recursive: true, force: true })],
        ])
    })

    async function api(method: string, path: string, body?: object): Promise<void> {
        const response = await fetch(`${server!.http!.url}${path}`, {
            method,
            headers: body ? { "content-type": "application/json" } : {},
            body: body ? JSON.stringify(body) : undefined,
        })
        expect(response.status, `${method} ${path}`).toBe(200)
    }

    const within = { timeout: 5000, interval: 100 }
    const card = (id: string): Locator => page.locator(`[data-testid="device-card"][data-device-id="${id}"]`)
    /** The card's chart once it has drawn its history. */
    async function chartOf(scope: Locator): Promise<Locator> {
        await scope.scrollIntoViewIfNeeded()
        const chart = scope.getByTestId("device-chart")
        await expect.poll(async () => Number(await chart.getAttribute("data-points")), within).toBeGreaterThan(1)
        await page.evaluate("new Promise(resolve => requestAnimationFrame(resolve))")
        return chart
    }
    /** The band drawn at `fraction` of the chart's width (1: now), as [lower, upper] light. */
    async function bandAt(chart: Locator, fraction: number): Promise<[number, number] | null> {
        const drawn = await ChartPixels.read(chart)
        const band = drawn?.bandAt(fraction)
        return band ? [band.lower, band.upper] : null
    }
    const near = (band: [number, number] | null, lower: number, upper: number) =>
        band !== null &&
        Math.abs(band[0] - lower) <= DRAWN_LIGHT_TOLERANCE &&
        Math.abs(band[1] - upper) <= DRAWN_LIGHT_TOLERANCE

    it("a device with threshold 600 draws its band at 600 (300 before it was set); another the fleet's", async () => {
        const hall = await chartOf(card("hall"))
        const attic = await chartOf(card("attic"))
        await page.screenshot({ path: join(RESULTS_DIR, "device-band-own.png") })
        const [lower, upper] = (await bandAt(hall, 0.99))!
        expect(lower).toBeCloseTo(600, closeTo(DRAWN_LIGHT_TOLERANCE))
        expect(upper).toBeCloseTo(700, closeTo(DRAWN_LIGHT_TOLERANCE))
        // 8 minutes back, before the override: the fleet's band it was judged by then
        expect(near(await bandAt(hall, 0.1), 300, 400)).toBe(true)
        expect(near(await bandAt(attic, 0.99), 300, 400)).toBe(true)
        expect(near(await bandAt(attic, 0.1), 300, 400)).toBe(true)
    })

    it("moves live when the device's override changes, and stays when the fleet's rule does", async () => {
        const hall = await chartOf(card("hall"))
        const attic = await chartOf(card("attic"))
        await api("PATCH", "/api/device-config/devices/hall", { threshold: 450 })
        await expect.poll(async () => near(await bandAt(hall, 0.99), 450, 550), within).toBe(true)
        expect(near(await bandAt(attic, 0.99), 300, 400)).toBe(true)

        await api("PATCH", "/api/settings", { threshold: 200 })
        await expect.poll(async () => near(await bandAt(attic, 0.99), 200, 300), within).toBe(true)
        expect(near(await bandAt(hall, 0.99), 450, 550)).toBe(true)
        await card("hall").screenshot({ path: join(RESULTS_DIR, "device-band-moved.png") })
    })

    it("the device's page draws its own band, and the fleet's once the override is cleared", async () => {
        await page.goto(`${server!.http!.url}/#/device/hall`)
        const chart = await chartOf(page.locator("main"))
        await expect.poll(async () => near(await bandAt(chart, 0.99), 450, 550), within).toBe(true)
        await api("DELETE", "/api/device-config/devices/hall")
        await expect.poll(async () => near(await bandAt(chart, 0.99), 200, 300), within).toBe(true)
        await page.screenshot({ path: join(RESULTS_DIR, "device-band-page.png") })
        expect(problems).toEqual([])
    })
})
