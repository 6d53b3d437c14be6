/**
 * The bench page (bench/html-report.ts) as a reader opens it: from disk, in Chromium, with nothing else
 * loaded. Every chart is drawn, in its series' colours, the notes under a chart follow the cursor, and
 * the page asked for nothing but its own file and reported no error.
 * BENCH_PAGE_SCREENSHOT=file.png also saves the page as drawn, to look at.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import type { ChartData } from "../chart-figure"
import { renderHtmlReport } from "../html-report"
import { launchChromium, skipWithoutChromium } from "../chromium"
import { FIRMWARE, paired, report, search } from "./sample-report"

/** Every section: the steps, the pairs, the saturation search, the scale-out with cost curves, the real firmware. */
const FULL = report({
    saturation: [
        search(
            "ours",
            [
                [6750, 6737, null],
                [10125, 10112, "p99 391.18 ms > 100 ms"],
            ],
            true
        ),
        search("lesson", [[22781, 22757, null]], false),
    ],
    scaleOut: [1, 2].map(instances => ({
        instances,
        handledPerS: { min: 8800 * instances, median: 9000 * instances, max: 9100 * instances },
        cpuMicrosPerReading: { min: 19, median: 20, max: 22 },
        costCurve: [5000, 10_000, 20_000].map(perServerPerS => ({ perServerPerS, microsPerReading: 10 * instances })),
        sharingCost: instances === 1 ? null : 1.07,
    })),
    firmware: FIRMWARE,
    paired: paired(),
})

describe.skipIf(skipWithoutChromium("the bench page's charts"))("the bench page in Chromium", () => {
    let browser: Browser
    const dir = mkdtempSync(join(tmpdir(), "nightlight-bench-page-"))
    beforeAll(async () => {
        browser = await launchChromium()
    })
    afterAll(async () => {
        await browser?.close()
        rmSync(dir, { recursive: true, force: true })
    })

    test("draws every chart offline, in its series' colours, with notes under the cursor", async () => {
        const file = join(dir, "bench.html")
        writeFileSync(file, renderHtmlReport(FULL))
        const page = await browser.newPage({ viewport: { width: 1250, height: 900 } })
        const problems: string[] = []
        page.on("console", m => void (m.type() === "error" && problems.push(m.text())))
        page.on("pageerror", e => problems.push(e.message))
        const requests: string[] = []
        page.on("request", r => void requests.push(r.url()))
        await page.goto(pathToFileURL(file).href)

        const charts = await page.$$eval("figure.chart", figures =>
            figures.map(figure => {
                const data = JSON.parse(figure.querySelector("script")!.textContent!) as ChartData
                const colors = data.kind === "xy" ? data.series.map(s => s.color) : data.bars.map(b => b.color)
                const canvas = figure.querySelector("canvas")
                if (!canvas) return { title: data.title, canvas: false, pixelsOf: {} }
                const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data
                const count = (hex: string) => {
                    const [r, g, b] = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16))
                    let n = 0
                    for (let i = 0; i < pixels.length; i += 4)
                        if (Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b) < 24)
                            n++
                    return n
                }
                return { title: data.title, canvas: true, pixelsOf: Object.fromEntries(colors.map(c => [c, count(c)])) }
            })
        )
        // the ratios per round, the throughput, CPU, p99 and memory charts, a latency distribution, the
        // saturation bars, two scale-out charts and the cost curves, and the firmware's reaction times
        expect(charts.map(c => c.title)).toHaveLength(11)
        for (const chart of charts) {
            expect(chart.canvas, chart.title).toBe(true)
            for (const [color, n] of Object.entries(chart.pixelsOf))
                expect(n, `${chart.title}: pixels of ${color}`).toBeGreaterThan(10)
        }

        // the cursor at the right end of the firmware chart: ours' slowest toggle, 153.5 ms
        const reaction = page.locator("figure.chart", { hasText: "Reaction time distribution" })
        const over = reaction.locator(".u-over")
        const box = (await over.boundingBox())!
        await over.hover({ position: { x: box.width - 1, y: box.height / 2 } })
        await expect.poll(() => reaction.locator(".note").textContent()).toBe("ours: 153.5 ms, 3 of 3")

        if (process.env.BENCH_PAGE_SCREENSHOT)
            await page.screenshot({ path: process.env.BENCH_PAGE_SCREENSHOT, fullPage: true })
        expect(problems).toEqual([])
        expect(requests).toEqual([pathToFileURL(file).href])
    })
})
