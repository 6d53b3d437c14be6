/**
 * The bench page's paired section (html-report.ts draws the rest): per offered rate, each system's medians
 * over the rounds beside each ratio to the reference, its median, min–max, IQR and every round's value,
 * and a chart of the CPU and p99 ratios round by round. Pure, like the page.
 */
import { escapeHtml, xyChart, type Series } from "./chart-figure"
import {
    FIGURE_NAMES,
    PAIRED_FIGURES,
    pairedRatio,
    type PairedSection,
    type PairedStep,
    type RatioSpread,
} from "./pairing"
import type { Spread } from "./stats"

const showSpread = (s: Spread | null | undefined) =>
    !s ? "–" : s.min === s.max ? String(s.median) : `${s.median} <small>(${s.min}–${s.max})</small>`
export const showRatio = (r: RatioSpread | null | undefined) =>
    !r ? "–" : r.min === r.max ? `<b>${r.median}</b>` : `<b>${r.median}</b> <small>(${r.min}–${r.max})</small>`
const showIqr = (r: RatioSpread | null | undefined) => (!r || r.pairs < 4 ? "–" : `${r.q1}–${r.q3}`)

export function pairedSection(section: PairedSection, color: (system: string, i: number) => string): string {
    const title =
        section.kind === "ab"
            ? "A/B: our server from two trees, taking turns"
            : "Paired runs: the systems take turns, ratios per round"
    const labels = Object.entries(section.labels).map(([name, what]) => `${escapeHtml(name)}: ${escapeHtml(what)}`)
    const fleets = section.fleets.map(
        f => `${escapeHtml(f.system)} ${f.devices} devices connected in ${f.connectMs} ms, process RSS ${f.rssMB} MB`
    )
    return `<h2>${title}</h2>
<p>Each system started once with its own fleet (one process each, connected throughout); per rate, rounds of one short
step of each system in turn, the order reversed every other round, so each round's ratio compares runs seconds apart
(systems run one after the other drift apart with the machine). Ratio: median <small>(min–max)</small> over the rounds,
IQR from 4 rounds.${labels.length > 0 ? `<br>${labels.join("<br>")}` : ""}<br><small>Fleets: ${fleets.join("; ")}.</small></p>
${section.steps.map((step, i) => stepPart(step, color, i)).join("\n")}`
}

function stepPart(step: PairedStep, color: (system: string, i: number) => string, index: number): string {
    const others = step.systems.filter(s => s !== step.reference)
    const ref = escapeHtml(step.reference)
    const head = [
        "figure",
        ...step.systems.map(escapeHtml),
        ...others.flatMap(o => [`${escapeHtml(o)}/${ref}`, "IQR", "each round"]),
    ]
    const rows = PAIRED_FIGURES.map(figure => {
        const cells = [
            FIGURE_NAMES[figure],
            ...step.systems.map(s => showSpread(step.medians[s]?.[figure])),
            ...others.flatMap(o => {
                const r = pairedRatio(step, o, figure)
                return [
                    showRatio(r?.spread),
                    showIqr(r?.spread),
                    `<small>${r?.perRound.map(v => v ?? "–").join(" ") ?? "–"}</small>`,
                ]
            }),
        ]
        return `<tr>${cells.map(c => `<td>${c}</td>`).join("")}</tr>`
    })
    const series: Series[] = others.flatMap((o, i) =>
        (["cpuMicrosPerReading", "latencyP99Ms"] as const).map(figure => ({
            name: `${o}/${step.reference} ${FIGURE_NAMES[figure]}`,
            color: color(o, i + index),
            dashed: figure === "latencyP99Ms",
            points: (pairedRatio(step, o, figure)?.perRound ?? []).flatMap((y, round) =>
                y === null || y <= 0
                    ? []
                    : [
                          {
                              x: round + 1,
                              y,
                              note: `round ${round + 1} (${step.rounds[round].order.join(", ")}): ${o}/${step.reference} ${FIGURE_NAMES[figure]} ${y}`,
                          },
                      ]
            ),
        }))
    )
    return `<h3>${step.devices} devices at ${step.offeredPerS} readings/s: ${step.rounds.length} rounds of ${step.seconds} s</h3>
<table><tr>${head.map(h => `<th>${h}</th>`).join("")}</tr>${rows.join("")}</table>
${xyChart({ title: `Ratio to ${step.reference} per round at ${step.offeredPerS} readings/s`, xLabel: "round", wholeX: true, yLabel: `÷ ${step.reference}`, logY: true, series })}`
}
