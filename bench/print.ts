/**
 * The console side of the report (stdout; progress goes to stderr): the steps as "median (min–max)"
 * over their runs, the headline, the saturation search, and the real firmware's section.
 */
import { cpus } from "node:os"
import type { FirmwareResult } from "./firmware"
import { FIGURE_NAMES, PAIRED_FIGURES, type PairedSection, type RatioSpread } from "./pairing"
import type { BenchReport, Headline, SaturationRatioKind, StepSummary } from "./report"
import { TARGET } from "./report"
import type { TargetCheck } from "./targets"
import type { ScaleOutResult } from "./scaleout"
import { SHARING_COST_GOAL, sharingSummary } from "./sharing-cost"
import { median, round, type Spread } from "./stats"
import { STEP } from "./step"

const show = (v: number | null | undefined) => (v === null || v === undefined ? "-" : String(v))

/** "median (min–max)", or the one value when all runs agree. */
export function showSpread(s: Spread | null | undefined): string {
    if (!s) return "-"
    return s.min === s.max ? String(s.median) : `${s.median} (${s.min}–${s.max})`
}

/** Right-aligned columns, the header first. */
export function printColumns(table: string[][]): void {
    const widths = table[0].map((_, i) => Math.max(...table.map(row => row[i].length)))
    for (const row of table) console.log(row.map((cell, i) => cell.padStart(widths[i])).join("  "))
}

export function printSteps(results: StepSummary[]): void {
    if (results.length === 0) return
    const runs = [...new Set(results.map(r => r.repeats))].join("/")
    const devices = [...new Set(results.map(r => r.devices))].join("/")
    console.log(`\nSteps: ${devices} devices; each figure median (min–max) over ${runs} run(s)`)
    printColumns([
        [
            "system",
            "offered/s",
            "sent/s",
            "handled/s",
            "CPU µs/rd",
            "CPU %",
            "gen CPU %",
            "other CPU %",
            "CPU o/l",
            "thrpt o/l",
        ],
        ...results.map(r => [
            r.system,
            show(r.offeredPerS),
            show(r.sentPerS.median),
            showSpread(r.handledPerS),
            showSpread(r.cpuMicrosPerReading),
            show(r.cpuPercent.median),
            show(r.generatorCpuPercent.median),
            show(r.otherCpuPercent.median),
            show(r.cpuRatio),
            show(r.throughputRatio),
        ]),
    ])
    console.log("")
    printColumns([
        [
            "system",
            "offered/s",
            "p50 ms",
            "p99 ms",
            "crossings ok/lost",
            "readings lost",
            "wrong LEDs",
            "RSS MB",
            "cmds/rd",
        ],
        ...results.map(r => [
            r.system,
            show(r.offeredPerS),
            showSpread(r.latencyP50Ms),
            showSpread(r.latencyP99Ms),
            r.crossingsAnswered === null ? "-" : `${r.crossingsAnswered}/${r.crossingsLost}`,
            `${r.readingsLost}/${r.readingsSent}`,
            show(r.wrongLeds),
            showSpread(r.rssMB),
            show(r.commandsPerReading),
        ]),
    ])
    console.log(
        "\nhandled/s: readings confirmed within the step (ours, ours-mosquitto, floor: highest acked seq per device; lesson: commands," +
            " one per reading; relay, aedes-relay: messages their one subscriber got).\nCPU: the system's processes" +
            " (/proc utime+stime) per handled reading (relays: per message relayed, one in + one out); gen CPU: the" +
            " load generator (this process); other CPU: the rest of the machine (other work on it);\nall CPU % of one core." +
            "\nLatency: reading that crosses the threshold → command with the new" +
            ` led_on (relays: reading → subscriber). Lost: after a settle of up to ${STEP.settleMs / 1000} s.\no/l: ours / lesson of the` +
            " medians at the same rate (CPU below 1 = ours cheaper; throughput 1 = both kept up)."
    )
}

/** A paired ratio: "median (min–max), IQR q1–q3", or "-" when no round had one. */
export function showRatio(r: RatioSpread | null | undefined): string {
    if (!r) return "-"
    const range = r.min === r.max ? String(r.median) : `${r.median} (${r.min}–${r.max})`
    return r.pairs < 4 ? range : `${range}, IQR ${r.q1}–${r.q3}`
}

export function printPaired(section: PairedSection): void {
    for (const step of section.steps) {
        const others = step.systems.filter(s => s !== step.reference)
        console.log(
            `\nPaired: ${step.devices} devices at ${step.offeredPerS}/s, ${step.rounds.length} round(s) of ${step.seconds} s;` +
                ` each round ${step.rounds[0]?.order.join(", ")}, then the reverse, and so on`
        )
        printColumns([
            ["figure", ...step.systems, ...others.map(o => `${o}/${step.reference} per round`)],
            ...PAIRED_FIGURES.map(figure => [
                FIGURE_NAMES[figure],
                ...step.systems.map(s => showSpread(step.medians[s]?.[figure])),
                ...others.map(o => showRatio(step.ratios.find(r => r.of === o && r.figure === figure)?.spread)),
            ]),
        ])
    }
    for (const [name, what] of Object.entries(section.labels)) console.log(`${name}: ${what}`)
    const idle = section.steps.flatMap(s => s.rounds.flatMap(r => r.idleGeneratorsCpuPercent ?? []))
    const idleSystems = section.steps.flatMap(s => s.rounds.flatMap(r => r.idleSystemsCpuPercent ?? []))
    console.log(
        "Systems: median (min–max) over the rounds. Ratios: one per round, of the two runs seconds apart; their" +
            " median (min–max), and the IQR from 4 rounds.\nFleets (one process each, connected throughout): " +
            section.fleets
                .map(f => `${f.system} ${f.devices} devices in ${f.connectMs} ms, RSS ${f.rssMB} MB`)
                .join("; ") +
            (idle.length > 0 ? `; the idle fleets during a step: up to ${Math.max(...idle)}% of one core` : "") +
            (idleSystems.length > 0
                ? `; the idle systems: median ${round(median(idleSystems)!, 1)}%, up to ${Math.max(...idleSystems)}%`
                : "")
    )
}

export function printHeadline(h: Headline): void {
    const scenario = h.isTarget
        ? "the issue's target scenario"
        : `not the target of ${TARGET.devices} at ${TARGET.offeredPerS}/s`
    console.log(`\nHeadline: ${h.devices} devices at ${h.offeredPerS} readings/s (${scenario})`)
    const verdict = h.cpuTargetMet === null ? "" : h.cpuTargetMet ? ": met" : ": NOT met"
    console.log(
        `  CPU per reading: ours ${showSpread(h.oursCpuMicrosPerReading)} µs, lesson ${showSpread(h.lessonCpuMicrosPerReading)} µs;` +
            ` ours/lesson ${show(h.cpuRatio)} (target ≤ ${h.cpuRatioMax.toFixed(2)}${verdict}` +
            `${h.cpuRatioPaired ? ", judged on the pairs' median" : ""})`
    )
    if (h.cpuRatioPaired)
        console.log(
            `  paired (ours/lesson per round): CPU ${showRatio(h.cpuRatioPaired)}, p99 ${showRatio(h.p99RatioPaired)}`
        )
    if (h.floorCpuMicrosPerReading)
        console.log(
            `  the floor (bare Node, our protocol, no broker or database): ${showSpread(h.floorCpuMicrosPerReading)} µs,` +
                ` floor/lesson ${show(h.floorCpuRatio)}`
        )
    console.log(
        `  nothing lost (ours): ${h.oursNothingLost ? "yes" : "NO"}: ${h.oursReadingsLost} readings unacknowledged,` +
            ` ${show(h.oursCrossingsLost)} crossings lost, ${show(h.oursWrongLeds)} LEDs wrong`
    )
}

export function printTargets(checks: TargetCheck[]): void {
    console.log(`\nTargets (issue 19, at ${TARGET.devices} devices and ${TARGET.offeredPerS} readings/s)`)
    const verdict = (met: boolean | null) => (met === null ? "not judged" : met ? "met" : "NOT met")
    printColumns([
        ["figure", "target", "this run", ""],
        ...checks.map(c => [c.figure, c.target, c.measured, verdict(c.met)]),
    ])
}

export function printSaturation(report: BenchReport): void {
    const results = report.saturation ?? []
    if (results.length === 0) return
    console.log(`\nSaturation search (${results[0].devices} devices, ${results[0].stepSeconds} s steps)`)
    printColumns([
        ["system", "sustained offered/s", "handled/s", "CPU %", "gen CPU %", "machine CPU %"],
        ...results.map(r => [
            r.system,
            r.sustained ? `${r.ceilingFound ? "" : "≥ "}${r.sustained.offeredPerS}` : "-",
            show(r.sustained?.handledPerS),
            show(r.sustained?.cpuPercent),
            show(r.sustained?.generatorCpuPercent),
            show(r.sustained?.machineCpuPercent),
        ]),
    ])
    console.log("steps (offered/s → handled/s, ✗ fell behind) and why the search stopped:")
    for (const r of results)
        console.log(
            `  ${r.system}: ${r.steps.map(s => `${s.offeredPerS}→${s.figures.handledPerS}${s.stop ? "✗" : ""}`).join(" ")}` +
                `\n    stopped: ${r.stoppedBy}`
        )
    const bound = (is: SaturationRatioKind | null | undefined) =>
        is && is !== "measured" ? ` (${is}: ≥ marks a ceiling not found)` : ""
    console.log(
        `ours/lesson sustained handled/s: ${show(report.saturationRatio)}${bound(report.saturationRatioIs)}` +
            ` (target ≥ ${TARGET.saturationRatioMin}).`
    )
    if (results.some(r => r.system === "ours-mosquitto"))
        console.log(
            `ours on Mosquitto/lesson: ${show(report.saturationRatioOnMosquitto)}` +
                `${bound(report.saturationRatioOnMosquittoIs)} (the same broker: server against server).`
        )
    console.log(
        `CPU % of one core; machine CPU near ${cpus().length * 100}% means every core was busy` +
            " (the load generator and other work share them with the system)."
    )
}

export function printScaleOut(results: ScaleOutResult[]): void {
    if (results.length === 0) return
    console.log(`\nScale-out: servers sharing one Mosquitto (--mqtt-share-group), highest rate each kept up with`)
    printColumns([
        ["servers", "handled/s", "CPU µs/rd (servers + broker)", "× one server", "servers CPU %", "broker %", "gen %"],
        ...results.map(r => {
            // the CPU of the best run's last sustained step, to show where the machine's cores went
            const best = [...r.runs].sort((a, b) => b.handledPerS - a.handledPerS)[0]
            const step = best?.steps.filter(s => s.handledPerS === best.handledPerS).at(-1)
            return [
                String(r.instances),
                (r.runs.every(run => run.ceilingFound) ? "" : "≥ ") + showSpread(r.handledPerS),
                showSpread(r.cpuMicrosPerReading),
                show(r.ratioToOne),
                step ? step.serversCpuPercent.join("+") : "-",
                show(step?.brokerCpuPercent),
                show(step?.generatorCpuPercent),
            ]
        }),
    ])
    console.log(
        "≥: a run kept up with every rate offered (no ceiling found). Goal: 2 servers ≥ 1.7× one. Here the servers, Mosquitto and the load generator share the same cores:" +
            " this shows what sharing costs, not what a second machine brings (docs/scale-out.md)."
    )
    const summary = sharingSummary(results)
    if (summary)
        console.log(
            `Sharing cost: the servers' CPU per reading against one server's at the same readings/s per server (1: free): ${summary}.` +
                ` The goal (2 servers ≥ 1.7× one) asks for at most ×${SHARING_COST_GOAL.toFixed(2)}; "up to" holds while Mosquitto keeps up.`
        )
}

export function printFirmware(result: FirmwareResult): void {
    console.log("\nReal firmware (DeviceScript VM): light change across the threshold → LED change")
    printColumns([
        ["server", "toggles", "missed", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        ...result.reaction.map(r =>
            [r.system, r.toggles, r.misses, r.p50Ms, r.p90Ms, r.p99Ms, r.maxMs].map(v => show(v as number | null))
        ),
    ])
    if (result.lessonSkipped) console.log(`no lesson baseline: ${result.lessonSkipped}`)
    else console.log(`ours/lesson: p50 ${show(result.p50Ratio)}, p99 ${show(result.p99Ratio)} (below 1: ours faster)`)
    console.log("\nFirmware footprint (built/<board>/bytecode.devs; breakdown from `devs build --stats`)")
    printColumns([
        ["board", "bytecode B", "functions", "function B", "strings B", "data B", "rebuilt"],
        ...result.footprint.map(f => [
            f.board,
            show(f.bytecodeBytes),
            show(f.stats?.functions),
            show(f.stats?.functionBytes),
            show(f.stats?.stringsBytes),
            show(f.stats?.dataBytes),
            f.rebuilt ? "yes" : "no",
        ]),
    ])
}
