/**
 * The bench page's script (bundled with uPlot into the page by ../page-script.ts): draws every figure's
 * chart from the JSON it carries (../chart-figure.ts). Runs once, when the page opens; fetches nothing.
 */
import uPlot from "uplot"
import { formatNumber, type ChartData, type Point } from "../chart-figure"

type XyData = Extract<ChartData, { kind: "xy" }>
type BarData = Extract<ChartData, { kind: "bars" }>

const INK = "#333"
const GRID = "#e4e4e4"
const DIAGONAL = "#aaa"
/** Points are drawn on lines with at most this many (more would hide the line). */
const MAX_POINTS_ON_LINE = 40

for (const figure of document.querySelectorAll<HTMLElement>("figure.chart")) {
    const data = figure.querySelector("script[type='application/json']")?.textContent
    const plot = figure.querySelector<HTMLElement>(".plot")
    if (!data || !plot) continue
    const chart = JSON.parse(data) as ChartData
    if (chart.kind === "xy") drawXy(chart, plot)
    else drawBars(chart, plot)
}

function axis(label: string): uPlot.Axis {
    return {
        label,
        stroke: INK,
        grid: { stroke: GRID, width: 1 },
        ticks: { stroke: GRID, width: 1 },
        values: (_u, splits) => splits.map(v => (v === null || v === undefined ? "" : formatNumber(v))),
    }
}

/** A line under the chart that says what the point under the cursor is. */
function noteLine(plot: HTMLElement): HTMLElement {
    const note = document.createElement("div")
    note.className = "note"
    plot.after(note)
    return note
}

function drawXy(chart: XyData, plot: HTMLElement): void {
    const placed = (p: Point) => (!chart.logX || p.x > 0) && (!chart.logY || p.y > 0)
    const xs = [...new Set(chart.series.flatMap(s => s.points.filter(placed).map(p => p.x)))].sort((a, b) => a - b)
    const at = chart.series.map(s => new Map(s.points.filter(placed).map(p => [p.x, p])))
    const columns: (number | null)[][] = at.map(points => xs.map(x => points.get(x)?.y ?? null))
    const series: uPlot.Series[] = chart.series.map(s => ({
        label: s.name,
        stroke: s.color,
        width: 2,
        dash: s.dashed ? [6, 4] : undefined,
        spanGaps: true,
        paths: s.dotsOnly ? () => null : undefined,
        points: {
            show: s.dotsOnly || s.points.length <= MAX_POINTS_ON_LINE,
            size: 7,
            fill: s.color,
            stroke: s.color,
        },
    }))
    if (chart.diagonal) {
        columns.push(xs.map(x => x))
        series.push({ label: chart.diagonal, stroke: DIAGONAL, width: 1, dash: [3, 3], points: { show: false } })
    }
    const ys = [
        ...columns.flat(),
        ...chart.series.flatMap(s => s.points.filter(placed).flatMap(p => [p.lo ?? p.y, p.hi ?? p.y])),
    ].filter((v): v is number => v !== null && Number.isFinite(v) && (!chart.logY || v > 0))
    const [yMin, yMax] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [chart.logY ? 1 : 0, 1]
    const yRange = chart.logY
        ? uPlot.rangeLog(yMin, yMax, 10, true)
        : uPlot.rangeNum(Math.min(0, yMin), yMax === yMin ? yMax + 1 : yMax, 0.05, true)
    const note = noteLine(plot)
    new uPlot(
        {
            width: chart.width,
            height: chart.height,
            scales: {
                x: { time: false, distr: chart.logX ? 3 : 1, log: 10 },
                y: { distr: chart.logY ? 3 : 1, log: 10, range: () => yRange },
            },
            axes: [
                {
                    ...axis(`${chart.xLabel}${chart.logX ? " (log)" : ""}`),
                    ...(chart.wholeX ? { incrs: [1, 2, 5, 10, 20, 50, 100] } : {}),
                },
                { ...axis(`${chart.yLabel}${chart.logY ? " (log)" : ""}`), size: 56 },
            ],
            series: [{ label: chart.xLabel }, ...series],
            legend: { live: false },
            hooks: {
                draw: [u => drawWhiskers(u, chart, xs, at)],
                setCursor: [
                    u => {
                        const i = u.cursor.idx
                        note.textContent =
                            i === null || i === undefined
                                ? ""
                                : chart.series
                                      .map((s, k) => {
                                          const p = at[k].get(xs[i])
                                          return p
                                              ? (p.note ?? `${s.name}: ${formatNumber(p.x)}, ${formatNumber(p.y)}`)
                                              : ""
                                      })
                                      .filter(Boolean)
                                      .join(" · ")
                    },
                ],
            },
        },
        [xs, ...columns] as uPlot.AlignedData,
        plot
    )
}

/** Min–max whiskers with caps, in each series' colour. */
function drawWhiskers(u: uPlot, chart: XyData, xs: number[], at: Map<number, Point>[]): void {
    const ctx = u.ctx
    const cap = 4 * uPlot.pxRatio
    ctx.save()
    ctx.lineWidth = uPlot.pxRatio
    chart.series.forEach((s, k) => {
        ctx.strokeStyle = s.color
        for (const x of xs) {
            const p = at[k].get(x)
            if (!p || p.lo === undefined || p.hi === undefined || !(p.hi > p.lo)) continue
            if (chart.logY && p.lo <= 0) continue
            const px = u.valToPos(x, "x", true)
            const [y1, y2] = [u.valToPos(p.lo, "y", true), u.valToPos(p.hi, "y", true)]
            ctx.beginPath()
            ctx.moveTo(px, y1)
            ctx.lineTo(px, y2)
            ctx.moveTo(px - cap, y1)
            ctx.lineTo(px + cap, y1)
            ctx.moveTo(px - cap, y2)
            ctx.lineTo(px + cap, y2)
            ctx.stroke()
        }
    })
    ctx.restore()
}

/** One series per bar (its own colour), each with a value at its own slot only; the value above it. */
function drawBars(chart: BarData, plot: HTMLElement): void {
    const slots = chart.bars.map((_b, i) => i)
    const bars = uPlot.paths.bars!({ size: [0.6, Infinity] })
    const note = noteLine(plot)
    new uPlot(
        {
            width: chart.width,
            height: chart.height,
            scales: {
                x: { time: false, range: () => [-0.5, chart.bars.length - 0.5] },
                y: { range: (_u, _min, max) => uPlot.rangeNum(0, max > 0 ? max : 1, 0.1, true) },
            },
            axes: [
                {
                    ...axis(""),
                    splits: () => slots,
                    values: (_u, splits) => splits.map(i => chart.bars[i]?.label ?? ""),
                    grid: { show: false },
                },
                { ...axis(chart.yLabel), size: 56 },
            ],
            series: [
                {},
                ...chart.bars.map(b => ({
                    label: b.label,
                    fill: b.color,
                    stroke: b.color,
                    paths: bars,
                    points: { show: false },
                })),
            ],
            legend: { show: false },
            hooks: {
                draw: [
                    u => {
                        const ctx = u.ctx
                        ctx.save()
                        ctx.fillStyle = INK
                        ctx.textAlign = "center"
                        ctx.font = `${11 * uPlot.pxRatio}px system-ui, sans-serif`
                        chart.bars.forEach((b, i) =>
                            ctx.fillText(
                                formatNumber(b.value),
                                u.valToPos(i, "x", true),
                                u.valToPos(b.value, "y", true) - 4 * uPlot.pxRatio
                            )
                        )
                        ctx.restore()
                    },
                ],
                setCursor: [
                    u => {
                        const b =
                            u.cursor.idx === null || u.cursor.idx === undefined ? undefined : chart.bars[u.cursor.idx]
                        note.textContent = b ? (b.note ?? `${b.label}: ${b.value}`) : ""
                    },
                ],
            },
        },
        [slots, ...chart.bars.map((b, i) => slots.map(j => (j === i ? b.value : null)))] as uPlot.AlignedData,
        plot
    )
}
