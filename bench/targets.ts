/**
 * The four targets (issue 19) judged on one run: CPU per reading and p99 against the lesson in
 * the same run (the paired ratios when the run was paired), the saturation ratio, and our RSS.
 */
import type { BenchReport, StepSummary } from "./report"
import { TARGET } from "./report"

export interface TargetCheck {
    figure: string
    target: string
    /** what this run measured, as printed */
    measured: string
    /** null: the run did not measure it (no lesson, no search, not the target fleet) */
    met: boolean | null
}

const fixed = (value: number, digits = 2) => value.toFixed(digits)

export function checkTargets(report: BenchReport): TargetCheck[] {
    const h = report.headline
    const at = (system: string): StepSummary | undefined =>
        h
            ? report.results.find(
                  r => r.system === system && r.devices === h.devices && r.offeredPerS === h.offeredPerS
              )
            : undefined
    const ours = at("ours")
    const lesson = at("lesson")
    return [cpu(report), saturation(report), p99(report, ours, lesson), rss(ours, at("aedes-relay"))]
}

/** Every pair's median when paired (what the issue asks), else the ratio of the medians. */
function cpu(report: BenchReport): TargetCheck {
    const h = report.headline
    const paired = h?.cpuRatioPaired?.median
    const value = paired ?? h?.cpuRatio ?? null
    return {
        figure: `CPU per reading at ${h?.offeredPerS ?? TARGET.offeredPerS}/s`,
        target: `≤ ${TARGET.cpuRatioMax} × the lesson's`,
        measured:
            value === null
                ? "not measured"
                : `${fixed(value)} (${paired === undefined ? "ratio of the medians" : "median of the pairs"})`,
        met: value === null ? null : value <= TARGET.cpuRatioMax,
    }
}

/** A bound counts only when it decides: "at least 1.3" meets it, "at most 1.1" misses it. */
function saturation(report: BenchReport): TargetCheck {
    const value = report.saturationRatio
    const is = report.saturationRatioIs
    const target = `≥ ${TARGET.saturationRatioMin} × the lesson's`
    if (value === null || is === null)
        return { figure: "sustained readings/s", target, measured: "not measured", met: null }
    const atLeast = value >= TARGET.saturationRatioMin
    const met =
        is === "measured"
            ? atLeast
            : is === "at least"
              ? atLeast || null
              : is === "at most"
                ? atLeast
                    ? null
                    : false
                : null
    return { figure: "sustained readings/s", target, measured: `${fixed(value)} (${is})`, met }
}

function p99(report: BenchReport, ours?: StepSummary, lesson?: StepSummary): TargetCheck {
    const h = report.headline
    const target = `≤ ${TARGET.p99MaxMs} ms and ≤ the lesson's`
    const figure = `p99 reading→command at ${h?.offeredPerS ?? TARGET.offeredPerS}/s`
    const oursMs = ours?.latencyP99Ms?.median
    if (oursMs === undefined) return { figure, target, measured: "not measured", met: null }
    const paired = h?.p99RatioPaired?.median
    const lessonMs = lesson?.latencyP99Ms?.median
    const ratio = paired ?? (lessonMs ? oursMs / lessonMs : undefined)
    const measured =
        `${fixed(oursMs, 1)} ms` +
        (ratio === undefined
            ? ", no lesson in the run"
            : `, ${fixed(ratio)} × the lesson's (${paired === undefined ? "ratio of the medians" : "median of the pairs"})`)
    return { figure, target, measured, met: oursMs <= TARGET.p99MaxMs && (ratio === undefined ? null : ratio <= 1) }
}

/**
 * Only at the fleet size: a smaller fleet says nothing about 10,000 connections. Beside it the
 * bare aedes relay's, when the run has it: what the broker we embed holds of the same fleet alone.
 */
function rss(ours?: StepSummary, broker?: StepSummary): TargetCheck {
    const figure = `RSS at ${TARGET.devices.toLocaleString("en-US")} devices`
    const target = `≤ ${TARGET.rssMaxMB} MB`
    if (!ours) return { figure, target, measured: "not measured", met: null }
    const measured =
        `${fixed(ours.rssMB.median, 0)} MB at ${ours.devices.toLocaleString("en-US")} devices` +
        (broker ? `; aedes alone (aedes-relay) ${fixed(broker.rssMB.median, 0)} MB` : "")
    if (ours.devices !== TARGET.devices) return { figure, target, measured, met: null }
    return { figure, target, measured, met: ours.rssMB.median <= TARGET.rssMaxMB }
}
