/**
 * The bench page's charts as data: each figure carries its chart's description as JSON, and the page's
 * one inline script (page/draw-charts.ts, uPlot inside, see page-script.ts) draws them when the page
 * opens, from disk, with nothing fetched. An x/y chart with lines, points, min–max whiskers, a linear or
 * log scale per axis and an optional y = x line; and a bar chart. Pure functions of their data.
 */

export interface Point {
    x: number
    y: number
    /** a whisker from lo to hi (e.g. min–max over repeated runs) */
    lo?: number
    hi?: number
    /** the point's note, shown under the chart when the cursor is on it; default "series: x, y" */
    note?: string
}

export interface Series {
    name: string
    color: string
    points: Point[]
    dashed?: boolean
    /** points only, no line between them */
    dotsOnly?: boolean
}

export interface XyChart {
    title: string
    xLabel: string
    yLabel: string
    series: Series[]
    logX?: boolean
    logY?: boolean
    /** a dashed grey y = x line (e.g. handled = offered) */
    diagonal?: string
    /** x is a count (e.g. server instances): ticks on whole numbers only */
    wholeX?: boolean
    width?: number
    height?: number
}

export interface Bar {
    label: string
    value: number
    color: string
    note?: string
}

export interface BarChart {
    title: string
    yLabel: string
    bars: Bar[]
    width?: number
    height?: number
}

/** What a figure carries for the page script: a chart with its size settled. */
export type ChartData =
    | ({ kind: "xy" } & XyChart & { width: number; height: number })
    | ({ kind: "bars" } & BarChart & { width: number; height: number })

/** Sizes in CSS pixels of the plot and its axes (the legend and the note come below it). */
export const CHART_SIZE = { width: 560, xyHeight: 300, barHeight: 260 }

export function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, c => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "#39" }[c]};`)
}

/** 1234 → "1.23k", 0.0456 → "0.0456": short, for ticks and labels. */
export function formatNumber(n: number): string {
    const abs = Math.abs(n)
    if (abs >= 1e6) return `${trim(n / 1e6)}M`
    if (abs >= 1e4) return `${trim(n / 1e3)}k`
    return trim(n)
}

const trim = (n: number) => String(Number(n.toPrecision(3)))

export function xyChart(chart: XyChart): string {
    const width = chart.width ?? CHART_SIZE.width
    return figure({ kind: "xy", ...chart, width, height: chart.height ?? CHART_SIZE.xyHeight })
}

export function barChart(chart: BarChart): string {
    const width = chart.width ?? CHART_SIZE.width
    return figure({ kind: "bars", ...chart, width, height: chart.height ?? CHART_SIZE.barHeight })
}

/**
 * The figure: its caption, the place the script draws in, and the data as JSON in a script element the
 * browser does not run ("<" escaped, so no text in the data can end the element).
 */
function figure(chart: ChartData): string {
    const json = JSON.stringify(chart).replace(/</g, "\\u003c")
    return (
        `<figure class="chart" style="width:${chart.width}px"><figcaption>${escapeHtml(chart.title)}</figcaption>` +
        `<div class="plot" role="img" aria-label="${escapeHtml(chart.title)}"></div>` +
        `<script type="application/json">${json}</script></figure>`
    )
}
