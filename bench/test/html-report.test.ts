/**
 * The bench's HTML page (bench/html-report.ts) drawn from a small report: the figures a reader looks for
 * are on it, the optional sections appear only with their data, and it stands alone (nothing fetched).
 */
import { describe, expect, test } from "vitest"
import { renderHtmlReport } from "../html-report"
import { headline, summarize } from "../report"
import { checkTargets } from "../targets"
import { FIRMWARE, paired, report, run, search, step } from "./sample-report"

describe("renderHtmlReport", () => {
    test("shows every step's median with its min–max, the ratio and the headline", () => {
        const html = renderHtmlReport(report())
        expect(html).toContain("Headline: 10000 devices at 5000 readings/s")
        // ours' CPU per reading: median 71.5 of 70.5, 71.5, 77.25; the lesson's 40.5 (39.5–41)
        expect(html).toContain("71.5 <small>(70.5–77.3)</small>")
        expect(html).toContain("40.5 <small>(39.5–41)</small>")
        expect(html).toContain("<b>1.77</b>") // 71.5 / 40.5
        expect(html).toContain("target not met")
        // one latency distribution per rate, ours and the lesson on it
        expect(html).toContain("Latency distribution at 5000 readings/s")
        expect(html.match(/<figure class="chart"/g)?.length).toBeGreaterThanOrEqual(5)
    })

    test("lists the issue's targets with a verdict each, when the run judged them", () => {
        expect(renderHtmlReport(report())).not.toContain("<h2>Targets</h2>")
        const judged = report()
        judged.targets = checkTargets(judged)
        const html = renderHtmlReport(judged)
        expect(html).toContain("<h2>Targets</h2>")
        expect(html).toContain('<td>1.77 (ratio of the medians)</td><td><span class="bad">not met</span></td>')
        expect(html).toContain("<td>not measured</td><td>not judged</td>")
    })

    test("puts the floor (a bare Node endpoint) in the headline only when it ran", () => {
        expect(renderHtmlReport(report())).not.toContain("The floor")
        const withFloor = report()
        withFloor.results = summarize([
            step("ours", [run(4991, 71.5, [0.4])]),
            step("lesson", [run(4995, 40, [1.8])]),
            step("floor", [run(4998, 11.6, [0.3]), run(4997, 12.4, [0.3]), run(4998, 10.8, [0.3])]),
        ])
        withFloor.headline = headline(withFloor.results)
        const html = renderHtmlReport(withFloor)
        expect(html).toContain("11.6 <small>(10.8–12.4)</small> µs, floor/lesson 0.29")
    })

    test("stands alone: one inline script, nothing loaded from elsewhere", () => {
        const html = renderHtmlReport(report())
        expect(html).not.toMatch(/<link|src=|href=|@import|url\(|https?:/i)
        // the drawing script, and each chart's data (which the browser does not run)
        expect(html.match(/<script>/g)?.length).toBe(1)
        expect(html.match(/<script/g)?.length).toBe(1 + (html.match(/<script type="application\/json">/g)?.length ?? 0))
        expect(html.startsWith("<!doctype html>")).toBe(true)
        expect(html.trim().endsWith("</html>")).toBe(true)
    })

    test("says so when something was lost", () => {
        const lossy = report()
        lossy.results = summarize([step("ours", [run(4991, 71.5, [0.4], 3)]), step("lesson", [run(4995, 40, [1.8])])])
        lossy.headline = headline(lossy.results)
        const html = renderHtmlReport(lossy)
        expect(html).toContain('Nothing lost (ours): <span class="bad">no</span>: 3 readings unacknowledged')
    })

    test("shows the saturation search: each system's highest sustained rate, ≥ when no ceiling was found", () => {
        const html = renderHtmlReport(
            report({
                saturation: [
                    search(
                        "ours",
                        [
                            [6750, 6737, null],
                            [10125, 10112, "p99 391.18 ms > 100 ms"],
                            [10125, 10110, "p99 150 ms > 100 ms"],
                        ],
                        true
                    ),
                    search(
                        "relay",
                        [
                            [22781, 22757, null],
                            [34172, 34136, null],
                        ],
                        false
                    ),
                ],
                saturationRatio: null,
                saturationRatioIs: null,
            })
        )
        expect(html).toContain("Saturation search")
        expect(html).toContain("<td>6750</td><td>6737</td>")
        expect(html).toContain("<td>≥ 34172</td><td>34136</td>")
        expect(html).toContain("6750→6737 10125→10112✗ 10125→10110✗")
        expect(html).toContain("10125/s, twice: p99 391.18 ms &gt; 100 ms")
    })

    test("draws the scale-out section only when the report has one", () => {
        expect(renderHtmlReport(report())).not.toContain("Scale-out")
        const html = renderHtmlReport(
            report({
                scaleOut: [1, 2, 3].map(instances => ({
                    instances,
                    handledPerS: { min: 9000 * instances - 100, median: 9000 * instances, max: 9000 * instances + 50 },
                    cpuMicrosPerReading: { min: 80, median: 85, max: 90 },
                })),
            })
        )
        expect(html).toContain("Scale-out: several server instances on one Mosquitto")
        expect(html).toContain("27000 <small>(26900–27050)</small>")
        expect(html).not.toContain("Sharing cost") // no cost curves in this report
    })

    test("draws the servers' cost curves and says what sharing costs when the scale-out has them", () => {
        const curve = (instances: number, micros: number) =>
            [5000, 10_000, 20_000].map(perServerPerS => ({ perServerPerS, microsPerReading: micros * instances }))
        const html = renderHtmlReport(
            report({
                scaleOut: [1, 2].map(instances => ({
                    instances,
                    handledPerS: { min: 9000, median: 9000, max: 9000 },
                    cpuMicrosPerReading: { min: 20, median: 20, max: 20 },
                    costCurve: curve(instances, 10),
                    sharingCost: instances === 1 ? null : 1.07,
                })),
            })
        )
        expect(html).toContain("The servers&#39; CPU per reading against the load per server")
        expect(html).toContain("2 servers ×1.07 (on 2 machines: up to 1.87× one)")
        expect(html).toContain("asks for at most ×1.18")
    })

    test("draws the real firmware's reaction samples when the report has them", () => {
        const firmware = FIRMWARE
        const html = renderHtmlReport(report({ firmware }))
        expect(html).toContain("Real firmware: light change → LED change")
        expect(html).toContain("<td>153.5</td>")
        expect(html).toContain("ours: 153.5 ms, 3 of 3") // the last sample's point on the distribution
        expect(html).toContain("18976")
    })

    test("shows the paired rounds: each system's medians beside each ratio's median, spread and rounds", () => {
        const html = renderHtmlReport(report({ paired: paired() }))
        expect(html).toContain("Paired runs: the systems take turns, ratios per round")
        expect(html).toContain("10000 devices at 5000 readings/s: 4 rounds of 5 s")
        expect(html).toContain("3 run(s) each (ours, lesson, floor taking turns, one run each per round)")
        // ours' CPU per reading moved from 40 to 96 µs with the machine; its ratio to the lesson did not
        expect(html).toContain("<td>60 <small>(40–96)</small></td><td>50 <small>(40–80)</small></td>")
        expect(html).toContain(
            "<td><b>1.2</b> <small>(1–1.2)</small></td><td>1.15–1.2</td><td><small>1.2 1.2 1.2 1</small></td>"
        )
        expect(html).toContain("<td><b>0.3</b></td><td>0.3–0.3</td>") // floor/lesson, the same in every round
        expect(html).toContain("<td><b>3</b> <small>(2–3)</small></td><td>2.75–3</td>") // p99, ours/lesson
        expect(html).toContain("ours 10000 devices connected in 3100 ms, process RSS 130.5 MB")
        expect(html).toContain("Ratio to lesson per round at 5000 readings/s")
        expect(renderHtmlReport(report())).not.toContain("Paired runs")
    })

    test("puts the paired CPU and p99 ratios in the headline when the run was paired", () => {
        const withPairs = report({ paired: paired() })
        withPairs.headline = headline(withPairs.results, withPairs.paired)
        const html = renderHtmlReport(withPairs)
        expect(html).toContain(
            "Paired, ours/lesson per round: CPU per reading <b>1.2</b> <small>(1–1.2)</small>, p99 <b>3</b> <small>(2–3)</small>"
        )
        expect(renderHtmlReport(report())).not.toContain("Paired, ours/lesson")
    })

    test("names the two trees of an A/B run", () => {
        const ab = paired()
        ab.kind = "ab"
        ab.labels = { A: "this tree (abc1234)", B: "main (def5678)" }
        const html = renderHtmlReport(report({ results: [], headline: null, paired: ab }))
        expect(html).toContain("A/B: our server from two trees, taking turns")
        expect(html).toContain("A: this tree (abc1234)<br>B: main (def5678)")
        expect(html).not.toContain("Every run") // no steps but the paired ones
    })
})
