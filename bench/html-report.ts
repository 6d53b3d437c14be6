/**
 * The bench's report as one self-contained HTML page (inline CSS, data and script, nothing fetched), drawn
 * from the same object as bench.json: the headline, every step's figures, throughput, CPU, latency and
 * memory against the offered load (ours beside the lesson and the relay baselines), the latency
 * distributions, the saturation search, and the scale-out and real-firmware sections when the report has
 * them. The charts are uPlot's, drawn by the page's one inline script (chart-figure.ts, page-script.ts).
 * A pure function of the report, so tests can render a small report and read the figures back.
 */
import type { FirmwareResult } from "./firmware"
import type { BenchReport, Headline, SaturationRatioKind, SaturationResult, ScaleOutRow, StepSummary } from "./report"
import { TARGET } from "./report"
import type { TargetCheck } from "./targets"
import { SHARING_COST_GOAL, sharingSummary } from "./sharing-cost"
import type { Spread } from "./stats"
import { barChart, escapeHtml, xyChart, type Series } from "./chart-figure"
import { pairedSection, showRatio } from "./html-paired"
import { pageAssets } from "./page-script"

const COLORS: Record<string, string> = {
    ours: "#1f6fb4",
    lesson: "#d62728",
    "lesson-aedes": "#e377c2",
    relay: "#7f7f7f",
    "aedes-relay": "#2ca02c",
    floor: "#ff7f0e",
    "ours-mosquitto": "#17becf",
}
const PALETTE = ["#9467bd", "#8c564b", "#bcbd22"]
const LABELS: Record<string, string> = {
    ours: "ours (server + embedded aedes)",
    lesson: "lesson (Mosquitto + Python)",
    "lesson-aedes": "the lesson's server on aedes (aedes + Python)",
    relay: "relay: Mosquitto alone",
    "aedes-relay": "relay: aedes alone",
    floor: "floor: bare Node endpoint, our protocol",
    "ours-mosquitto": "ours on Mosquitto (server + Mosquitto)",
}

const color = (system: string, i = 0) => COLORS[system] ?? PALETTE[i % PALETTE.length]
const label = (system: string) => LABELS[system] ?? system
const show = (v: number | null | undefined) => (v === null || v === undefined ? "–" : String(v))
const showSpread = (s: Spread | null | undefined) =>
    !s ? "–" : s.min === s.max ? String(s.median) : `${s.median} <small>(${s.min}–${s.max})</small>`
const systemsOf = <T extends { system: string }>(rows: T[]) => [...new Set(rows.map(r => r.system))]

export function renderHtmlReport(report: BenchReport): string {
    const sections = [
        header(report),
        report.headline ? headlineSection(report.headline) : "",
        report.targets?.length ? targetsSection(report.targets) : "",
        report.paired ? pairedSection(report.paired, color) : "",
        stepsSection(report.results, report.saturation ?? []),
        report.saturation?.length ? saturationSection(report, report.saturation) : "",
        report.scaleOut?.length ? scaleOutSection(report.scaleOut) : "",
        report.firmware ? firmwareSection(report.firmware) : "",
        runsSection(report.results),
    ]
    const { script, css } = pageAssets()
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nightlight bench ${escapeHtml(report.date)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;color:#222;margin:24px auto;max-width:1180px;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}small{color:#777}
figure{display:inline-block;margin:8px 12px 8px 0;vertical-align:top}figcaption{font-weight:600}
.card{background:#f4f8fc;border:1px solid #cfe0f0;padding:10px 16px;border-radius:6px}
.bad{color:#b00020;font-weight:600}.good{color:#1b7a1b;font-weight:600}
figure.chart .note{min-height:1.45em;font-size:12px;color:#555}
</style>
<style>${css}</style></head><body>
${sections.join("\n")}
<script>${script}</script>
</body></html>
`
}

function header(r: BenchReport): string {
    const o = r.options
    return `<h1>nightlight bench</h1>
<p>${escapeHtml(r.date)} · Node ${escapeHtml(r.node)} · ${r.machine.cpus} cores (${escapeHtml(r.machine.cpuModel)}),
${r.machine.memoryGB} GB, load average before the report ${r.machine.loadAverage.join(" / ")} · ${r.durationS} s in all.<br>
${o.devices} devices; offered ${o.rates.join(", ")} readings/s; ${o.seconds} s per step, ${o.repeats} run(s) each${turns(r)};
systems ${o.systems.join(", ")}. Everything on loopback; the load generator shares the cores with the system under test.</p>`
}

/** Which systems took turns, round by round, when the run was paired. */
function turns(r: BenchReport): string {
    const systems = r.paired?.steps[0]?.systems
    return systems ? ` (${systems.map(escapeHtml).join(", ")} taking turns, one run each per round)` : ""
}

function verdict(ok: boolean | null, yes: string, no: string): string {
    return ok === null ? "" : ok ? `<span class="good">${yes}</span>` : `<span class="bad">${no}</span>`
}

function headlineSection(h: Headline): string {
    const scenario = h.isTarget ? "the issue's target scenario" : "not the target scenario"
    return `<h2>Headline: ${h.devices} devices at ${h.offeredPerS} readings/s</h2>
<div class="card"><p>${scenario} (target: ${TARGET.devices} devices at ${TARGET.offeredPerS}/s, ours ≤ ${h.cpuRatioMax.toFixed(2)} × the lesson's CPU per reading)</p>
<p>CPU per reading: ours <b>${showSpread(h.oursCpuMicrosPerReading)} µs</b>, lesson <b>${showSpread(h.lessonCpuMicrosPerReading)} µs</b>;
ours/lesson <b>${show(h.cpuRatio)}</b> ${verdict(h.cpuTargetMet, "target met", "target not met")}${h.cpuRatioPaired ? " (judged on the pairs' median)" : ""}</p>${
        h.cpuRatioPaired
            ? `\n<p>Paired, ours/lesson per round: CPU per reading ${showRatio(h.cpuRatioPaired)}, p99 ${showRatio(h.p99RatioPaired)}</p>`
            : ""
    }${
        h.floorCpuMicrosPerReading
            ? `\n<p>The floor (a bare Node endpoint answering our protocol, no broker or database): ${showSpread(h.floorCpuMicrosPerReading)} µs, floor/lesson ${show(h.floorCpuRatio)}</p>`
            : ""
    }
<p>Nothing lost (ours): ${verdict(h.oursNothingLost, "yes", "no")}: ${h.oursReadingsLost} readings unacknowledged,
${show(h.oursCrossingsLost)} crossings lost, ${show(h.oursWrongLeds)} LEDs wrong after the settle time.</p></div>`
}

function targetsSection(checks: TargetCheck[]): string {
    const rows = checks.map(
        c =>
            `<tr><td>${escapeHtml(c.figure)}</td><td>${escapeHtml(c.target)}</td><td>${escapeHtml(c.measured)}</td>` +
            `<td>${c.met === null ? "not judged" : verdict(c.met, "met", "not met")}</td></tr>`
    )
    return `<h2>Targets</h2>
<table><tr><th>figure</th><th>target</th><th>this run</th><th></th></tr>
${rows.join("\n")}</table>`
}

function stepsSection(results: StepSummary[], saturation: SaturationResult[]): string {
    if (results.length === 0) return ""
    const systems = systemsOf(results)
    const perSystem = (pick: (r: StepSummary) => Spread | null, dashedRelays = true): Series[] =>
        systems.map((system, i) => ({
            name: label(system),
            color: color(system, i),
            dashed: dashedRelays && system.includes("relay"),
            points: results
                .filter(r => r.system === system && pick(r))
                .map(r => ({ x: r.offeredPerS, y: pick(r)!.median, lo: pick(r)!.min, hi: pick(r)!.max })),
        }))
    const searched: Series[] = saturation.map((s, i) => ({
        name: `${s.system} (search)`,
        color: color(s.system, i),
        dotsOnly: true,
        points: s.steps.map(step => ({
            x: step.offeredPerS,
            y: Math.max(1, step.figures.handledPerS),
            note: `${s.system} search ${step.offeredPerS}/s: handled ${step.figures.handledPerS}/s${step.stop ? ` (${step.stop})` : ""}`,
        })),
    }))
    const rows = results.map(
        r => `<tr><td style="color:${color(r.system)}">${escapeHtml(r.system)}</td><td>${r.offeredPerS}</td>
<td>${r.sentPerS.median}</td><td>${showSpread(r.handledPerS)}</td><td>${showSpread(r.cpuMicrosPerReading)}</td>
<td>${r.cpuPercent.median}</td><td>${r.generatorCpuPercent.median}</td><td>${r.otherCpuPercent.median}</td><td>${showSpread(r.latencyP50Ms)}</td>
<td>${showSpread(r.latencyP99Ms)}</td><td>${r.crossingsAnswered === null ? "–" : `${r.crossingsAnswered}/${r.crossingsLost}`}</td>
<td>${r.readingsLost}/${r.readingsSent}</td><td>${show(r.wrongLeds)}</td><td>${showSpread(r.rssMB)}</td>
<td>${show(r.commandsPerReading)}</td><td>${show(r.cpuRatio)}</td><td>${show(r.throughputRatio)}</td></tr>`
    )
    const rates = [...new Set(results.map(r => r.offeredPerS))]
    const cdfs = rates.map(rate =>
        xyChart({
            title: `Latency distribution at ${rate} readings/s`,
            xLabel: "ms",
            yLabel: "share of samples ≤ x",
            logX: true,
            width: 360,
            height: 260,
            series: results
                .filter(r => r.offeredPerS === rate && r.latencyCdfMs)
                .map((r, i) => ({
                    name: r.system,
                    color: color(r.system, i),
                    dashed: r.system.includes("relay"),
                    points: r.latencyCdfMs!.map((ms, p) => ({ x: Math.max(ms, 0.01), y: p / 100 })),
                })),
        })
    )
    return `<h2>Steps: median (min–max) over the runs</h2>
<table><tr><th>system</th><th>offered/s</th><th>sent/s</th><th>handled/s</th><th>CPU µs/rd</th><th>CPU %</th><th>gen CPU %</th>
<th>other CPU %</th><th>p50 ms</th><th>p99 ms</th><th>crossings ok/lost</th><th>readings lost/sent</th><th>wrong LEDs</th><th>RSS MB</th>
<th>cmds/rd</th><th>CPU o/l</th><th>thrpt o/l</th></tr>${rows.join("")}</table>
<p><small>handled/s: ours by acks, the lesson by commands (one per reading), the relays by their subscriber's count.
CPU: the system's own processes per handled reading (relays: per message, one in + one out). gen CPU: the load generator;
other CPU: the rest of the machine (other work sharing it); CPU % of one core.
o/l: ours / lesson of the medians.</small></p>
${xyChart({ title: "Throughput: handled readings/s against offered", xLabel: "offered readings/s", yLabel: "handled/s", logX: true, logY: true, diagonal: "handled = offered", series: [...perSystem(r => r.handledPerS), ...searched] })}
${xyChart({ title: "CPU per reading (relays: per message)", xLabel: "offered readings/s", yLabel: "µs of CPU", logX: true, series: perSystem(r => r.cpuMicrosPerReading) })}
${xyChart({ title: "Latency p99", xLabel: "offered readings/s", yLabel: "ms", logX: true, series: perSystem(r => r.latencyP99Ms) })}
${xyChart({ title: "Memory: peak RSS of the system's processes", xLabel: "offered readings/s", yLabel: "MB", logX: true, series: perSystem(r => r.rssMB) })}
<h2>Latency distributions</h2>
<p><small>ours and the lesson: a reading that crosses the threshold → the command with the new led_on; the relays
(dashed): a reading → their subscriber. All runs of a step together.</small></p>${cdfs.join("")}`
}

function saturationSection(report: BenchReport, results: SaturationResult[]): string {
    const ratio = report.saturationRatio
    const bound = boundNote(report.saturationRatioIs)
    const rows = results.map(
        r => `<tr><td style="color:${color(r.system)}">${escapeHtml(r.system)}</td>
<td>${r.sustained ? `${r.ceilingFound ? "" : "≥ "}${r.sustained.offeredPerS}` : "–"}</td><td>${show(r.sustained?.handledPerS)}</td>
<td>${show(r.sustained?.cpuPercent)}</td><td>${show(r.sustained?.generatorCpuPercent)}</td><td>${show(r.sustained?.machineCpuPercent)}</td>
<td style="text-align:left">${r.steps.map(s => `${s.offeredPerS}→${s.figures.handledPerS}${s.stop ? "✗" : ""}`).join(" ")}</td>
<td style="text-align:left">${escapeHtml(r.stoppedBy)}</td></tr>`
    )
    const met = ratio === null ? null : ratio >= TARGET.saturationRatioMin
    return `<h2>Saturation search</h2>
<p>From ${results[0].steps[0]?.offeredPerS ?? "–"}/s up, ${results[0].stepSeconds} s steps, until handled/s &lt; 90% of offered,
a crossing is lost or p99 &gt; 100 ms. ours/lesson sustained handled/s: <b>${show(ratio)}</b>${bound} (target ≥ ${TARGET.saturationRatioMin})
${verdict(met, "met", "not met")}.${onMosquitto(report)} CPU % of one core: a machine CPU near ${report.machine.cpus * 100}% means every core was busy,
the load generator and other work sharing them with the system (≥: no ceiling found).</p>
${barChart({ title: "Highest rate sustained (handled/s)", yLabel: "handled/s", bars: results.map((r, i) => ({ label: r.ceilingFound || !r.sustained ? r.system : `${r.system} (≥)`, value: r.sustained?.handledPerS ?? 0, color: color(r.system, i), note: r.stoppedBy })) })}
<table><tr><th>system</th><th>sustained offered/s</th><th>handled/s</th><th>CPU %</th><th>gen CPU %</th><th>machine CPU %</th><th>steps (offered→handled)</th><th>stopped by</th></tr>${rows.join("")}</table>`
}

/** Our server on Mosquitto against the lesson, when it ran: the same broker, server against server. */
function onMosquitto(report: BenchReport): string {
    if (!report.saturation?.some(r => r.system === "ours-mosquitto")) return ""
    const bound = boundNote(report.saturationRatioOnMosquittoIs)
    return ` Ours on Mosquitto/lesson: <b>${show(report.saturationRatioOnMosquitto)}</b>${bound} (the same broker: server against server).`
}

/** " (at most)" and the like after a saturation ratio that is only a bound; nothing after a measure. */
function boundNote(is: SaturationRatioKind | null | undefined): string {
    return is && is !== "measured" ? ` (${is})` : ""
}

function scaleOutSection(rows: ScaleOutRow[]): string {
    const points = (pick: (r: ScaleOutRow) => Spread) =>
        rows.map(r => ({ x: r.instances, y: pick(r).median, lo: pick(r).min, hi: pick(r).max }))
    return `<h2>Scale-out: several server instances on one Mosquitto</h2>
${xyChart({ title: "Handled readings/s against instances", xLabel: "server instances", wholeX: true, yLabel: "handled/s", series: [{ name: "handled/s", color: COLORS.ours, points: points(r => r.handledPerS) }] })}
${xyChart({ title: "CPU per reading against instances", xLabel: "server instances", wholeX: true, yLabel: "µs of CPU", series: [{ name: "CPU µs/reading", color: COLORS.ours, points: points(r => r.cpuMicrosPerReading) }] })}
<table><tr><th>instances</th><th>handled/s</th><th>CPU µs/rd</th></tr>
${rows.map(r => `<tr><td>${r.instances}</td><td>${showSpread(r.handledPerS)}</td><td>${showSpread(r.cpuMicrosPerReading)}</td></tr>`).join("")}</table>
${sharingPart(rows)}`
}

/** The servers' CPU per reading by the load per server, and what sharing costs (sharing-cost.ts). */
function sharingPart(rows: ScaleOutRow[]): string {
    const curves = rows.filter(r => r.costCurve?.length)
    if (curves.length < 2) return ""
    const series: Series[] = curves.map((r, i) => ({
        name: `${r.instances} server(s)`,
        color: r.instances === 1 ? COLORS.ours : PALETTE[i % PALETTE.length],
        points: r.costCurve!.map(p => ({
            x: Math.round(p.perServerPerS),
            y: Math.round(p.microsPerReading * 10) / 10,
        })),
    }))
    const summary = sharingSummary(rows)
    return `${xyChart({ title: "The servers' CPU per reading against the load per server", xLabel: "readings/s per server", yLabel: "µs of CPU, all servers", logX: true, series })}
<p>Sharing cost, the servers' CPU per reading against one server's at the same readings/s per server (1: free):
${summary || "no load in common with one server"}. The goal, 2 servers ≥ 1.7× one, asks for at most ×${SHARING_COST_GOAL.toFixed(2)};
"up to" holds while the broker keeps up.</p>`
}

function firmwareSection(f: FirmwareResult): string {
    const series: Series[] = f.reaction.map((r, i) => {
        const sorted = [...r.samplesMs].sort((a, b) => a - b)
        return {
            name: r.system,
            color: color(r.system, i),
            points: sorted.map((ms, k) => ({
                x: ms,
                y: (k + 1) / sorted.length,
                note: `${r.system}: ${ms} ms, ${k + 1} of ${sorted.length}`,
            })),
        }
    })
    const rows = f.reaction.map(
        r =>
            `<tr><td>${r.system}</td><td>${r.toggles}</td><td>${r.misses}</td><td>${show(r.p50Ms)}</td><td>${show(r.p90Ms)}</td><td>${show(r.p99Ms)}</td><td>${show(r.maxMs)}</td></tr>`
    )
    const sizes = f.footprint.map(
        b =>
            `<tr><td>${escapeHtml(b.board)}</td><td>${b.bytecodeBytes}</td><td>${show(b.stats?.functions)}</td><td>${show(b.stats?.functionBytes)}</td><td>${show(b.stats?.stringsBytes)}</td></tr>`
    )
    return `<h2>Real firmware: light change → LED change</h2>
<p>The firmware in the DeviceScript VM, one device, toggles of the light across the threshold.
ours/lesson: p50 ${show(f.p50Ratio)}, p99 ${show(f.p99Ratio)}${f.lessonSkipped ? ` (no lesson baseline: ${escapeHtml(f.lessonSkipped)})` : ""}.</p>
${xyChart({ title: "Reaction time distribution", xLabel: "ms", yLabel: "share of toggles ≤ x", series })}
<table><tr><th>server</th><th>toggles</th><th>missed</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>${rows.join("")}</table>
<table><tr><th>board</th><th>bytecode B</th><th>functions</th><th>function B</th><th>strings B</th></tr>${sizes.join("")}</table>`
}

function runsSection(results: StepSummary[]): string {
    // an A/B report has its runs in the paired section only
    if (results.length === 0) return ""
    const rows = results.flatMap(s =>
        s.runs.map(
            (
                r,
                i
            ) => `<tr><td>${escapeHtml(s.system)}</td><td>${s.offeredPerS}</td><td>${i + 1}</td><td>${r.sentPerS}</td>
<td>${r.handledPerS}</td><td>${show(r.cpuMicrosPerReading)}</td><td>${r.cpuPercent}</td><td>${r.generatorCpuPercent}</td><td>${r.otherCpuPercent}</td>
<td>${show(r.latencyP50Ms)}</td><td>${show(r.latencyP99Ms)}</td><td>${r.readingsLost}</td><td>${r.rssMB}</td></tr>`
        )
    )
    return `<h2>Every run</h2><details><summary>${rows.length} runs</summary>
<table><tr><th>system</th><th>offered/s</th><th>run</th><th>sent/s</th><th>handled/s</th><th>CPU µs/rd</th><th>CPU %</th>
<th>gen CPU %</th><th>other CPU %</th><th>p50 ms</th><th>p99 ms</th><th>readings lost</th><th>RSS MB</th></tr>${rows.join("")}</table></details>`
}
