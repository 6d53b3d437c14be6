// The dashboard as a user sees it: headless Chromium on the real server (embedded broker, SQLite in a temp
// folder, dashboard on a free port) with the real firmware in the simulator beside it, as `npm start` runs
// it. The user moves the simulated light slider and watches the LED and the chart follow, changes the
// threshold; neither the page nor the server logs an error. Screenshots land in test-results/ (desktop and
// phone width), and a failed step leaves its screenshot and the server's log there too.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser, Locator, Page } from "playwright-core"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { SimulatorRunner } from "../../server/sim-runner"
import { collectPageProblems, launchChromium, skipWithoutChromium } from "../helpers/browser"
import { ChartPixels } from "../helpers/chart-pixels"
import { HOST, recordingLogger } from "../helpers/mqtt"
import { runSteps } from "../helpers/teardown"

const SKIP = skipWithoutChromium("test/sim/dashboard.test.ts", "The dashboard in a browser")
const DEVICE = "dashboard-sim"
const THRESHOLD = 300
const BAND = 100
const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url))
/** The VM boots, connects and sends its first reading: seconds, more on a busy machine. */
const FIRST_READING_MS = 20_000
/**
 * A change the user makes shows within this: the firmware reports a reading that crosses the threshold at
 * once and reports every 2 s anyway (the LED state a card shows is the one the device reported).
 */
const SHOWS_WITHIN_MS = 6000
/** Light units per pixel of a 160 px chart are ~6.4: the drawn end of the line is read to within this. */
const DRAWN_LIGHT_TOLERANCE = 30

describe.skipIf(SKIP)("the dashboard in headless Chromium, with the real firmware in the simulator", () => {
    // Kept for a failure: what the server, the simulator and the firmware said.
    const { logger, lines } = recordingLogger("debug")
    let dir: string | undefined
    let server: RunningServer | undefined
    let runner: SimulatorRunner | undefined
    let browser: Browser | undefined
    let page: Page
    let problems: string[]
    let card: Locator
    let chart: Locator

    beforeAll(async () => {
        mkdirSync(RESULTS_DIR, { recursive: true })
        dir = mkdtempSync(join(tmpdir(), "nightlight-dashboard-"))
        server = await startServer(
            {
                broker: { kind: "embedded", host: HOST, port: 0 },
                threshold: THRESHOLD,
                band: BAND,
                dataDir: dir,
                http: { enabled: true, host: HOST, port: 0 },
            },
            logger
        )
        runner = new SimulatorRunner({
            brokerUrl: server.brokerUrl,
            deviceId: DEVICE,
            logger,
            threshold: THRESHOLD,
            band: BAND,
        })
        server.attachSimulator(runner)
        // The browser starts while the VM boots.
        const [started, launched] = await Promise.all([runner.start(), launchChromium()])
        browser = launched
        if (!started) throw new Error(`the simulated device did not start; the server logged:\n${lines.join("")}`)
        page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
        // A read of an element that is not there yet fails fast: the bounded polls below do the waiting.
        page.setDefaultTimeout(2000)
        problems = collectPageProblems(page)
        await page.goto(server.http!.url)
        card = page.locator(`[data-testid="device-card"][data-device-id="${DEVICE}"]`)
        chart = card.getByTestId("device-chart")
    })

    // A failed step leaves a picture of the page and the log behind, for CI's artifacts.
    beforeEach(({ task, onTestFailed }) => {
        onTestFailed(async () => {
            const name = task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60)
            await page?.screenshot({ path: join(RESULTS_DIR, `dashboard-failed-${name}.png`), fullPage: true })
            writeFileSync(join(RESULTS_DIR, `dashboard-failed-${name}.log`), lines.join(""))
        })
    })

    afterAll(async () => {
        // Every step runs even when one before it fails; the browser goes first, so that the server
        // stopping under it does not make the page complain.
        const steps: [string, () => Promise<void> | void][] = [
            ["close the browser", () => browser?.close()],
            ["stop the simulated device", () => runner?.stop()],
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

    /** Readers of the card's fields, for the bounded polls below. */
    const field = (testId: string) => card.getByTestId(testId)
    const state = (testId: string) => () => field(testId).getAttribute("data-state")
    const text = (testId: string) => async () => (await field(testId).textContent())?.trim()
    const points = async () => Number(await chart.getAttribute("data-points"))
    const within = (timeout: number) => ({ timeout, interval: 100 })
    /** The chart redraws once per frame: after the next one, it has drawn what the card shows. */
    const nextFrame = () => page.evaluate("new Promise(resolve => requestAnimationFrame(resolve))")

    it("shows the simulated device: online, its light, its LED and a chart with points", async () => {
        await expect.poll(() => page.getByTestId("live-badge").getAttribute("data-state"), within(5000)).toBe("live")
        await expect.poll(state("device-online"), within(FIRST_READING_MS)).toBe("online")
        await expect.poll(text("device-light"), within(FIRST_READING_MS)).toMatch(/^\d+$/)
        await expect.poll(state("device-led"), within(FIRST_READING_MS)).toMatch(/^(on|off)$/)
        await expect.poll(points, within(FIRST_READING_MS)).toBeGreaterThan(0)
        await expect(card.getByText("simulated", { exact: true }).isVisible()).resolves.toBe(true)
        await expect(card.getByTestId("sim-slider").isVisible()).resolves.toBe(true)
    })

    it("moving the slider to dark (100) turns the LED on, and the chart's line ends dark", async () => {
        const slider = card.getByTestId("sim-slider")
        const pointsBefore = await points()
        const moved = performance.now()
        // fill() on a range input sets the value and fires input and change, as a drag ends
        await slider.fill("100")
        await expect(card.getByTestId("sim-light-value").textContent()).resolves.toBe("100")
        await expect.poll(text("device-light"), within(SHOWS_WITHIN_MS)).toBe("100")
        const lightShown = performance.now() - moved
        await expect.poll(state("device-led"), within(SHOWS_WITHIN_MS)).toBe("on")
        const ledShown = performance.now() - moved
        console.log(`slider to 100: the card shows light 100 after ${ms(lightShown)}, the LED on after ${ms(ledShown)}`)
        await expect.poll(text("device-last-command"), within(SHOWS_WITHIN_MS)).toMatch(/^on at .*: /)
        // one more reading after the first dark one: the line's last segment is flat at 100
        await nextFrame()
        const pointsDark = await points()
        expect(pointsDark).toBeGreaterThan(pointsBefore)
        await expect.poll(points, within(SHOWS_WITHIN_MS)).toBeGreaterThan(pointsDark)
        await expect.poll(() => lastDrawnLight(chart), within(2000)).toBeCloseTo(100, closeTo(DRAWN_LIGHT_TOLERANCE))
    })

    it("dragging the slider to bright (~900) turns the LED off, and the chart's line ends bright", async () => {
        const slider = card.getByTestId("sim-slider")
        const box = await slider.boundingBox()
        if (!box) throw new Error("the slider has no box: is it hidden?")
        // a user's drag: press on the thumb (at 100 of 1023), move in steps, let go near the right end
        const y = box.y + box.height / 2
        const sent: number[] = []
        page.on("request", request => {
            if (request.method() === "PUT" && request.url().endsWith("/api/sim/light"))
                sent.push(request.postDataJSON().light)
        })
        await page.mouse.move(box.x + box.width * (100 / 1023), y)
        await page.mouse.down()
        await page.mouse.move(box.x + box.width * 0.88, y, { steps: 12 })
        await page.mouse.up()
        const moved = performance.now()
        const light = Number(await slider.inputValue())
        expect(light).toBeGreaterThan(800)
        await expect(card.getByTestId("sim-light-value").textContent()).resolves.toBe(String(light))
        // the newest value wins, however many the drag sent on its way
        await expect.poll(text("device-light"), within(SHOWS_WITHIN_MS)).toBe(String(light))
        await expect.poll(state("device-led"), within(SHOWS_WITHIN_MS)).toBe("off")
        console.log(
            `dragged to ${light} (sent: ${sent.join(", ")}): the card shows the LED off after ${ms(performance.now() - moved)}`
        )
        expect(sent.at(-1)).toBe(light)
        await expect.poll(text("device-last-command"), within(SHOWS_WITHIN_MS)).toMatch(/^off at .*: /)
        await nextFrame()
        const pointsBright = await points()
        await expect.poll(points, within(SHOWS_WITHIN_MS)).toBeGreaterThan(pointsBright)
        await expect.poll(() => lastDrawnLight(chart), within(2000)).toBeCloseTo(light, closeTo(DRAWN_LIGHT_TOLERANCE))
        await expect(card.getByTestId("sim-status").textContent()).resolves.toBe("")
    })

    it("raising the threshold in the settings form turns the LED on while the light stays at 400", async () => {
        await card.getByTestId("sim-slider").fill("400")
        await expect.poll(text("device-light"), within(SHOWS_WITHIN_MS)).toBe("400")
        // 400 is at threshold + band: the LED stays off
        expect(await state("device-led")()).toBe("off")

        const threshold = page.getByTestId("settings-threshold")
        await expect(threshold.inputValue()).resolves.toBe(String(THRESHOLD))
        await threshold.fill("500")
        await page.getByTestId("settings-save").click()
        await expect.poll(() => page.getByTestId("settings-status").textContent(), within(5000)).toBe("Saved.")
        await expect.poll(state("device-led"), within(SHOWS_WITHIN_MS)).toBe("on")
        await expect.poll(text("device-last-command"), within(SHOWS_WITHIN_MS)).toMatch(/^on at .*: settings$/)
        expect(await text("device-light")()).toBe("400")

        // and back: 400 is at 300 + 100 again, so the LED goes off
        await threshold.fill(String(THRESHOLD))
        await page.getByTestId("settings-save").click()
        await expect.poll(state("device-led"), within(SHOWS_WITHIN_MS)).toBe("off")
        await expect(threshold.inputValue()).resolves.toBe(String(THRESHOLD))
    })

    it("the Day/night cycle button gives the light back to the cycle: the card and the slider follow it", async () => {
        // held at 400 by the slider until now
        await new Promise(r => setTimeout(r, 2500))
        expect(await text("device-light")()).toBe("400")
        await card.getByTestId("sim-daylight").click()
        await expect
            .poll(() => card.getByTestId("sim-status").textContent(), within(5000))
            .toBe("following the day/night cycle")
        // the cycle's light, then its steps: the card shows readings other than 400, and the slider moves
        const seen = new Set<string>()
        await expect
            .poll(async () => seen.add((await text("device-light")()) ?? "").size, within(3 * SHOWS_WITHIN_MS))
            .toBeGreaterThanOrEqual(3)
        await expect.poll(() => card.getByTestId("sim-slider").inputValue(), within(SHOWS_WITHIN_MS)).not.toBe("400")
        expect(lines.some(l => l.includes("the light now follows the day/night cycle"))).toBe(true)
    })

    it("takes screenshots at desktop and phone width; the phone layout does not scroll sideways", async ({
        annotate,
    }) => {
        const desktop = join(RESULTS_DIR, "dashboard.png")
        await page.screenshot({ path: desktop, fullPage: true })
        await page.setViewportSize({ width: 390, height: 844 })
        // the chart follows its card's width (ResizeObserver); then nothing is wider than the screen
        await expect
            .poll(() => page.evaluate("document.documentElement.scrollWidth"), within(3000))
            .toBeLessThanOrEqual(390)
        await expect.poll(async () => (await chart.boundingBox())?.width ?? 0, within(3000)).toBeLessThanOrEqual(390)
        const phone = join(RESULTS_DIR, "dashboard-phone.png")
        await page.screenshot({ path: phone, fullPage: true })
        await annotate(`screenshots: ${desktop} and ${phone}`, "artifact")
    })

    it("the page reported no error: no console error, no CSP violation, no uncaught exception", () => {
        expect(problems).toEqual([])
    })

    it("the server, the simulator and the firmware logged no error meanwhile", () => {
        const errors = lines.filter(line => /^\[[^\]]*\] (ERROR|FATAL):/.test(line))
        expect(errors.map(line => line.slice(0, 600))).toEqual([])
    })
})

const ms = (milliseconds: number) => `${milliseconds.toFixed(0)} ms`

/** The light at the right end of the drawn line, read from the chart's canvas; null before anything is drawn. */
async function lastDrawnLight(chart: Locator): Promise<number | null> {
    return (await ChartPixels.read(chart))?.lastDrawnLight() ?? null
}

/** toBeCloseTo counts decimal digits; this turns "within ± n" into its precision argument. */
function closeTo(tolerance: number): number {
    return -Math.log10(2 * tolerance)
}
