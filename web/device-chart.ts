/**
 * One device's live chart (uPlot): light over the last 10 minutes (less while the device is new), the
 * threshold band shaded between threshold and threshold + band, and the LED's on-times shaded as a
 * stepped area behind.
 *
 * Created when the device card scrolls into view and destroyed when it leaves, so a fleet of thousands
 * costs charts only for the cards on screen. On creation it loads the window from the history endpoint;
 * live readings that arrive meanwhile wait and are merged after it.
 */
import type { LiveEvent, RuleSettings } from "../server/api-types"
import { getHistory } from "./api"
import { ChartData, HISTORY_POINTS, WINDOW_MS } from "./chart-data"
import { el, setText } from "./dom"
import { uPlotGlobal, type UPlot, type uPlotTypes } from "./uplot"

const HEIGHT_PX = 160

type Live = Extract<LiveEvent, { type: "reading" | "command" }>

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

    constructor(
        private readonly deviceId: string,
        private readonly settings: () => RuleSettings | null
    ) {
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

    add(event: Live): void {
        if (this.destroyed) return
        if (this.loading) this.waiting.push(event)
        else {
            this.take(event)
            this.redraw()
        }
    }

    /** The settings changed: the band moves. */
    refresh(): void {
        this.redraw()
    }

    destroy(): void {
        this.destroyed = true
        this.resizeObserver.disconnect()
        this.plot?.destroy()
        this.plot = undefined
    }

    private take(event: Live): void {
        if (event.type === "reading") this.data.addReading(event)
        else this.data.addCommand(event.t, event.ledOn)
    }

    /** At most one redraw per frame, however many readings arrive. */
    private redraw(): void {
        if (this.redrawPending) return
        this.redrawPending = true
        requestAnimationFrame(() => {
            this.redrawPending = false
            if (this.destroyed) return
            const columns = this.data.columns(this.settings())
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
        const axis = { stroke: colour("--muted"), grid: { stroke: colour("--grid"), width: 1 }, ticks: { show: false } }
        const line = { points: { show: false } }
        return {
            width: this.width(),
            height: HEIGHT_PX,
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
                { ...line, label: "Threshold", scale: "light", stroke: colour("--chart-band-line"), width: 1 },
                { ...line, label: "Threshold + band", scale: "light", stroke: colour("--chart-band-line"), width: 1 },
                { ...line, label: "Light", scale: "light", stroke: colour("--chart-light"), width: 2 },
            ],
            bands: [{ series: [3, 2], fill: colour("--chart-band") }],
        }
    }
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
