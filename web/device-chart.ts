/**
 * One device's live chart (uPlot): light (a lone reading as a dot), the threshold band the device was
 * judged by at each time, its own or else the fleet's (drawn under the series by a hook) and the LED's on-times as a stepped area behind. It exists
 * only while its card is on screen, so a big fleet costs few charts; it loads its window from the
 * history endpoint and merges the live readings that arrived meanwhile.
 */
import type { LiveEvent, RuleSettings } from "../server/http/api-types"
import { getHistory } from "./api"
import { ChartData, HISTORY_POINTS, WINDOW_MS } from "./chart-data"
import { el, setText } from "./dom"
import { uPlotGlobal, type UPlot, type uPlotTypes } from "./uplot"

const HEIGHT_PX = 160
/** The axes' font (uPlot's default), set here too so the time labels can be measured with it. */
const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
/** Diameter of the dot drawn for a lone reading, CSS px. */
const LONE_POINT_PX = 7

type Live = Extract<LiveEvent, { type: "reading" | "command" | "settings" | "rule" }>

export class DeviceChart {
    readonly element: HTMLElement
    private readonly plotArea: HTMLElement
    private readonly status: HTMLElement
    private readonly data = new ChartData()
    private plot?: UPlot
    private loading = true
    private waiting: Live[] = []
    private redrawPending = false
    private destroyed = false
    private readonly resizeObserver: ResizeObserver

    constructor(private readonly deviceId: string) {
        this.plotArea = el("div", { class: "plot" })
        this.status = el("p", { class: "chart-status", "data-testid": "device-chart-status", text: "loading…" })
        this.element = el(
            "figure",
            { class: "chart", "data-testid": "device-chart", "data-points": 0, "aria-label": `Light of ${deviceId}` },
            [this.plotArea, this.status, legend()]
        )
        this.resizeObserver = new ResizeObserver(() => this.resize())
    }

    /** Call once the element is in the document (uPlot measures it). */
    async start(): Promise<void> {
        this.resizeObserver.observe(this.plotArea)
        await this.reload()
    }

    /** Reads the window again (after a reconnect the stream may have missed readings). */
    async reload(): Promise<void> {
        this.loading = true
        this.waiting = []
        const now = Date.now()
        try {
            const history = await getHistory(this.deviceId, now - WINDOW_MS, now, HISTORY_POINTS)
            if (this.destroyed) return
            this.data.load(history)
        } catch (error) {
            if (this.destroyed) return
            setText(this.status, `history not available: ${(error as Error).message}`)
        }
        this.loading = false
        for (const event of this.waiting) this.take(event)
        this.waiting = []
        this.redraw()
    }

    add(event: Extract<Live, { type: "reading" | "command" }>): void {
        this.live(event)
    }

    /** The fleet's settings changed at `at` (ms): the band moves from then on, unless the device has its own. */
    settingsChanged(settings: RuleSettings, at: number): void {
        this.live({ type: "settings", settings, at })
    }

    /** The device's own rule changed at `at` (ms; null: the fleet's again): the band moves from then on. */
    ruleChanged(rule: RuleSettings | null, at: number): void {
        this.live({ type: "rule", deviceId: this.deviceId, rule, at })
    }

    private live(event: Live): void {
        if (this.destroyed) return
        if (this.loading) this.waiting.push(event)
        else {
            this.take(event)
            this.redraw()
        }
    }

    destroy(): void {
        this.destroyed = true
        this.resizeObserver.disconnect()
        this.plot?.destroy()
        this.plot = undefined
    }

    private take(event: Live): void {
        if (event.type === "reading") this.data.addReading(event)
        else if (event.type === "command") this.data.addCommand(event.t, event.ledOn)
        else if (event.type === "rule") this.data.addOwnRule(event.at, event.rule)
        else this.data.addRule(event.at ?? Date.now(), event.settings)
    }

    /** At most one redraw per frame, however many readings arrive. */
    private redraw(): void {
        if (this.redrawPending) return
        this.redrawPending = true
        requestAnimationFrame(() => {
            this.redrawPending = false
            if (this.destroyed) return
            const columns = this.data.columns()
            if (this.plot) this.plot.setData(columns)
            else this.plot = new (uPlotGlobal())(this.options(), columns, this.plotArea)
            this.element.dataset.points = String(this.data.size)
            if (!this.loading && this.status.textContent === "loading…") setText(this.status, "")
            if (this.data.size === 0) setText(this.status, "no readings in the last 10 minutes")
            else if (this.status.textContent?.startsWith("no readings")) setText(this.status, "")
        })
    }

    private resize(): void {
        if (this.plot) this.plot.setSize({ width: this.width(), height: HEIGHT_PX })
    }

    private width(): number {
        return Math.max(200, Math.floor(this.plotArea.clientWidth))
    }

    private options(): uPlotTypes.Options {
        const uPlot = uPlotGlobal()
        const colour = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()
        const axis = {
            stroke: colour("--muted"),
            font: AXIS_FONT,
            grid: { stroke: colour("--grid"), width: 1 },
            ticks: { show: false },
        }
        const line = { points: { show: false } }
        const band = { fill: colour("--chart-band"), line: colour("--chart-band-line") }
        return {
            width: this.width(),
            height: HEIGHT_PX,
            // room right of the plot for half a time label: the one on the right edge is centred on it
            padding: [null, Math.ceil(timeLabelWidth() / 2) + 4, null, null],
            legend: { show: false },
            cursor: { drag: { x: false, y: false, setScale: false } },
            scales: {
                x: { time: true, range: () => this.data.xRange(Date.now()) },
                light: { range: [0, 1023] },
                led: { range: [0, 1] },
            },
            axes: [
                {
                    ...axis,
                    size: 30,
                    // room for "10:06:15 PM" with seconds, also on a phone-wide card
                    space: 90,
                    values: (_, ticks, _axis, _space, step) => ticks.map(tick => clockTime(tick * 1000, step < 60)),
                },
                { ...axis, scale: "light", size: 42, space: 30 },
            ],
            series: [
                {},
                {
                    ...line,
                    label: "LED",
                    scale: "led",
                    width: 0,
                    fill: colour("--chart-led"),
                    paths: uPlot.paths.stepped?.({ align: 1 }),
                },
                {
                    label: "Light",
                    scale: "light",
                    stroke: colour("--chart-light"),
                    width: 2,
                    // a line needs two readings: a lone one is a dot
                    points: {
                        show: (_u, _series, first, last) => last <= first,
                        size: LONE_POINT_PX,
                        fill: colour("--chart-light"),
                    },
                },
            ],
            // after the grid, before the series: the band lies behind the light and LED
            hooks: { drawAxes: [u => this.drawBand(u, band)] },
        }
    }

    /** The band as it was over the time shown: a shaded span with its two edges per rule in force. */
    private drawBand(u: UPlot, style: { fill: string; line: string }): void {
        const [start, end] = [u.scales.x.min, u.scales.x.max]
        if (start === undefined || end === undefined) return
        const { ctx, bbox } = u
        ctx.save()
        // clipped to the plot area: a span may begin before the window
        ctx.beginPath()
        ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height)
        ctx.clip()
        const line = Math.max(1, Math.round(devicePixelRatio))
        for (const span of this.data.bandSpans(start * 1000, end * 1000)) {
            const left = u.valToPos(span.from / 1000, "x", true)
            const right = u.valToPos(span.to / 1000, "x", true)
            const lower = u.valToPos(span.lower, "light", true)
            const upper = u.valToPos(span.upper, "light", true)
            ctx.fillStyle = style.fill
            ctx.fillRect(left, upper, right - left, lower - upper)
            ctx.fillStyle = style.line
            ctx.fillRect(left, Math.round(upper - line / 2), right - left, line)
            ctx.fillRect(left, Math.round(lower - line / 2), right - left, line)
        }
        ctx.restore()
    }
}

/** Width of the widest time label ("10:06:15 PM" in this locale) in the axis font, CSS px. */
function timeLabelWidth(): number {
    const context = document.createElement("canvas").getContext("2d")
    if (!context) return 80
    context.font = AXIS_FONT
    return context.measureText(clockTime(Date.UTC(2024, 0, 1, 22, 58, 58), true)).width
}

/** A tick label: hours and minutes, and seconds when the ticks are less than a minute apart. */
function clockTime(ms: number, seconds: boolean): string {
    return new Date(ms).toLocaleTimeString([], {
        hour: "2-digit",
        minute: "2-digit",
        second: seconds ? "2-digit" : undefined,
    })
}

function legend(): HTMLElement {
    const item = (kind: string, text: string) => el("span", { class: `key key-${kind}` }, [el("i"), text])
    return el("figcaption", { class: "legend" }, [
        item("light", "light"),
        item("band", "threshold band"),
        item("led", "LED on"),
    ])
}
