/**
 * Charts as inline SVG strings, for the bench's self-contained HTML page (no library, no script, nothing
 * fetched: the page opens from disk anywhere). An x/y chart with lines, points, min–max whiskers, a
 * linear or log scale per axis and an optional y = x line; and a bar chart. Pure functions of their data.
 */

export interface Point {
    x: number
    y: number
    /** a whisker from lo to hi (e.g. min–max over repeated runs) */
    lo?: number
    hi?: number
    /** the point's tooltip; default "x, y" */
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
    width?: number
    height?: number
}

export interface Bar {
    label: string
    value: number
    color: string
    note?: string
}

const MARGIN = { left: 64, right: 16, top: 14, bottom: 46 }
const GRID = "#e4e4e4"
const INK = "#333"

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

interface Scale {
    at: (v: number) => number
    ticks: number[]
}

function linearScale(min: number, max: number, from: number, to: number): Scale {
    if (max <= min) max = min + 1
    const rough = (max - min) / 5
    const magnitude = 10 ** Math.floor(Math.log10(rough))
    const step = [1, 2, 5, 10].map(m => m * magnitude).find(s => s >= rough) ?? rough
    const lo = Math.floor(min / step) * step
    const hi = Math.ceil(max / step) * step
    const ticks: number[] = []
    for (let t = lo; t <= hi + step / 2 && ticks.length < 20; t += step) ticks.push(Number(t.toPrecision(12)))
    return { at: v => from + ((v - lo) / (hi - lo)) * (to - from), ticks }
}

function logScale(min: number, max: number, from: number, to: number): Scale {
    const lo = Math.floor(Math.log10(Math.max(min, 1e-9)))
    let hi = Math.ceil(Math.log10(Math.max(max, 1e-9)))
    if (hi <= lo) hi = lo + 1
    const steps = hi - lo > 3 ? [1] : [1, 2, 5]
    const ticks: number[] = []
    for (let e = lo; e <= hi; e++)
        for (const m of steps) if (e < hi || m === 1) ticks.push(Number((m * 10 ** e).toPrecision(6)))
    return { at: v => from + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (to - from), ticks }
}

function scale(values: number[], log: boolean | undefined, from: number, to: number, fromZero: boolean): Scale {
    const finite = values.filter(v => Number.isFinite(v) && (!log || v > 0))
    const min = finite.length ? Math.min(...finite) : log ? 1 : 0
    const max = finite.length ? Math.max(...finite) : 1
    return log ? logScale(min, max, from, to) : linearScale(fromZero ? Math.min(0, min) : min, max, from, to)
}

/** The keys, wrapped into rows that fit the width; and the height they take. */
function legend(
    keys: { name: string; color: string; dashed?: boolean }[],
    width: number
): { svg: string; height: number } {
    let x = MARGIN.left
    let row = 0
    const items = keys.map(key => {
        const itemWidth = 30 + key.name.length * 6.6
        if (x + itemWidth > width && x > MARGIN.left) {
            x = MARGIN.left
            row++
        }
        const y = 14 + row * 17
        const item =
            `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${key.color}" stroke-width="2.5"${key.dashed ? ' stroke-dasharray="5 3"' : ""}/>` +
            `<text x="${x + 22}" y="${y + 4}" font-size="12" fill="${INK}">${escapeHtml(key.name)}</text>`
        x += itemWidth
        return item
    })
    return { svg: items.join(""), height: keys.length === 0 ? 0 : (row + 1) * 17 }
}

const n = (v: number) => v.toFixed(1)

export function xyChart(chart: XyChart): string {
    const width = chart.width ?? 560
    const keys = [...chart.series, ...(chart.diagonal ? [{ name: chart.diagonal, color: "#aaa", dashed: true }] : [])]
    const key = legend(keys, width)
    const height = (chart.height ?? 300) + key.height
    const top = MARGIN.top + key.height
    const points = chart.series.flatMap(s => s.points)
    const xs = points.map(p => p.x)
    const ys = points.flatMap(p => [p.y, p.lo ?? p.y, p.hi ?? p.y])
    if (chart.diagonal) ys.push(...xs)
    const x = scale(xs, chart.logX, MARGIN.left, width - MARGIN.right, false)
    const y = scale(ys, chart.logY, height - MARGIN.bottom, top, true)
    const [left, right, bottom] = [MARGIN.left, width - MARGIN.right, height - MARGIN.bottom]
    const inside = (px: number, py: number) =>
        px >= left - 0.5 && px <= right + 0.5 && py >= top - 0.5 && py <= bottom + 0.5
    const parts: string[] = []
    for (const t of x.ticks) {
        const px = x.at(t)
        if (px < left - 0.5 || px > right + 0.5) continue
        parts.push(`<line x1="${n(px)}" y1="${top}" x2="${n(px)}" y2="${bottom}" stroke="${GRID}"/>`)
        parts.push(
            `<text x="${n(px)}" y="${bottom + 16}" font-size="11" text-anchor="middle" fill="${INK}">${formatNumber(t)}</text>`
        )
    }
    for (const t of y.ticks) {
        const py = y.at(t)
        if (py < top - 0.5 || py > bottom + 0.5) continue
        parts.push(`<line x1="${left}" y1="${n(py)}" x2="${right}" y2="${n(py)}" stroke="${GRID}"/>`)
        parts.push(
            `<text x="${left - 6}" y="${n(py + 4)}" font-size="11" text-anchor="end" fill="${INK}">${formatNumber(t)}</text>`
        )
    }
    parts.push(
        `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#999"/>`
    )
    if (chart.diagonal && xs.length > 0) {
        const [a, b] = [Math.min(...xs), Math.max(...xs)]
        parts.push(
            `<line x1="${n(x.at(a))}" y1="${n(y.at(a))}" x2="${n(x.at(b))}" y2="${n(y.at(b))}" stroke="#aaa" stroke-dasharray="3 3"/>`
        )
    }
    for (const s of chart.series) {
        const placed = s.points.filter(p => (!chart.logX || p.x > 0) && (!chart.logY || p.y > 0))
        const coords = placed.map(p => [x.at(p.x), y.at(p.y)] as const)
        if (!s.dotsOnly && coords.length > 1)
            parts.push(
                `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""} points="${coords.map(([px, py]) => `${n(px)},${n(py)}`).join(" ")}"/>`
            )
        placed.forEach((p, i) => {
            const [px, py] = coords[i]
            if (!inside(px, py)) return
            if (p.lo !== undefined && p.hi !== undefined && p.hi > p.lo) {
                const [y1, y2] = [y.at(p.lo), y.at(p.hi)]
                parts.push(
                    `<path d="M${n(px)},${n(y1)}V${n(y2)}M${n(px - 4)},${n(y1)}h8M${n(px - 4)},${n(y2)}h8" stroke="${s.color}" fill="none"/>`
                )
            }
            const note = p.note ?? `${s.name}: ${formatNumber(p.x)}, ${formatNumber(p.y)}`
            if (s.dotsOnly || placed.length <= 40)
                parts.push(
                    `<circle cx="${n(px)}" cy="${n(py)}" r="3.5" fill="${s.color}"><title>${escapeHtml(note)}</title></circle>`
                )
        })
    }
    parts.push(
        `<text x="${(left + right) / 2}" y="${height - 8}" font-size="12" text-anchor="middle" fill="${INK}">${escapeHtml(chart.xLabel)}${chart.logX ? " (log)" : ""}</text>`,
        `<text transform="translate(14 ${(top + bottom) / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="${INK}">${escapeHtml(chart.yLabel)}${chart.logY ? " (log)" : ""}</text>`
    )
    return figure(chart.title, width, height, key.svg + parts.join(""))
}

export function barChart(chart: {
    title: string
    yLabel: string
    bars: Bar[]
    width?: number
    height?: number
}): string {
    const width = chart.width ?? 560
    const height = chart.height ?? 260
    const [left, right, top, bottom] = [MARGIN.left, width - MARGIN.right, MARGIN.top, height - MARGIN.bottom]
    const y = scale(
        chart.bars.map(b => b.value),
        false,
        bottom,
        top,
        true
    )
    const parts: string[] = []
    for (const t of y.ticks) {
        const py = y.at(t)
        parts.push(`<line x1="${left}" y1="${n(py)}" x2="${right}" y2="${n(py)}" stroke="${GRID}"/>`)
        parts.push(
            `<text x="${left - 6}" y="${n(py + 4)}" font-size="11" text-anchor="end" fill="${INK}">${formatNumber(t)}</text>`
        )
    }
    const slot = (right - left) / Math.max(1, chart.bars.length)
    chart.bars.forEach((b, i) => {
        const px = left + i * slot + slot * 0.2
        const py = y.at(b.value)
        parts.push(
            `<rect x="${n(px)}" y="${n(py)}" width="${n(slot * 0.6)}" height="${n(bottom - py)}" fill="${b.color}"><title>${escapeHtml(b.note ?? `${b.label}: ${b.value}`)}</title></rect>`,
            `<text x="${n(px + slot * 0.3)}" y="${n(py - 4)}" font-size="11" text-anchor="middle" fill="${INK}">${formatNumber(b.value)}</text>`,
            `<text x="${n(px + slot * 0.3)}" y="${bottom + 16}" font-size="12" text-anchor="middle" fill="${INK}">${escapeHtml(b.label)}</text>`
        )
    })
    parts.push(
        `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#999"/>`,
        `<text transform="translate(14 ${(top + bottom) / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="${INK}">${escapeHtml(chart.yLabel)}</text>`
    )
    return figure(chart.title, width, height, parts.join(""))
}

function figure(title: string, width: number, height: number, body: string): string {
    return (
        `<figure><figcaption>${escapeHtml(title)}</figcaption>` +
        `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">` +
        `${body}</svg></figure>`
    )
}
