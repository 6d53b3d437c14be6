/**
 * What a device chart (uPlot, one canvas) shows, read from its pixels: the browser tests check what the
 * user sees, not what the page holds. ChartPixels.read() copies the canvas and the plot area's place in
 * it out of the page once; the readers below find a series by its colour (the page's CSS variables).
 * The light axis is 0 at the bottom of the plot area and 1023 at the top.
 */
import type { Locator } from "playwright-core"

type Rgb = [number, number, number]

interface Snapshot {
    /** Canvas size in device pixels. */
    width: number
    height: number
    /** The plot area inside the canvas, device pixels. */
    plot: { left: number; top: number; width: number; height: number }
    /** RGBA, row by row (not premultiplied). */
    pixels: Uint8Array
    /** The page's colours, by CSS variable name. */
    colours: Record<string, Rgb>
}

const COLOUR_VARIABLES = ["--chart-light", "--chart-band-line", "--muted"]
/** How far (sum of |r|,|g|,|b| differences) a pixel may be from a colour and still be it (anti-aliasing). */
const COLOUR_DISTANCE = 60

export class ChartPixels {
    private constructor(private readonly s: Snapshot) {}

    /** The chart's canvas now; null before anything is drawn. */
    static async read(chart: Locator): Promise<ChartPixels | null> {
        const snapshot = await chart.evaluate(readInPage, COLOUR_VARIABLES)
        return snapshot ? new ChartPixels({ ...snapshot, pixels: Buffer.from(snapshot.pixels, "base64") }) : null
    }

    get width(): number {
        return this.s.width
    }
    get plot(): Snapshot["plot"] {
        return this.s.plot
    }

    /** Pixels of the light series' colour in the plot area (0: no line, no point). */
    lightPixels(): number {
        let count = 0
        const { left, top, width, height } = this.s.plot
        for (let y = top; y < top + height; y++)
            for (let x = left; x < left + width; x++) if (this.is(x, y, "--chart-light", 200)) count++
        return count
    }

    /** The light at the right end of the drawn line (the middle of the rightmost column of its colour). */
    lastDrawnLight(): number | null {
        const { left, top, width, height } = this.s.plot
        for (let x = left + width - 1; x >= left; x--) {
            const ys: number[] = []
            for (let y = top; y < top + height; y++) if (this.is(x, y, "--chart-light", 200)) ys.push(y)
            if (ys.length > 0) return this.lightOf(ys[ys.length >> 1])
        }
        return null
    }

    /**
     * The threshold band at `fraction` of the plot's width (0 left, 1 right): the light at its lower and
     * upper edge, from the pixels of the band's colour (its fill and lines) in that column; null: no band.
     */
    bandAt(fraction: number): { lower: number; upper: number } | null {
        const { left, top, width, height } = this.s.plot
        const x = left + Math.min(width - 1, Math.max(0, Math.round(fraction * (width - 1))))
        const ys: number[] = []
        for (let y = top; y < top + height; y++) if (this.is(x, y, "--chart-band-line", 15)) ys.push(y)
        if (ys.length === 0) return null
        return { lower: this.lightOf(ys[ys.length - 1]), upper: this.lightOf(ys[0]) }
    }

    /** The rightmost canvas column holding text of the x axis (below the plot area); -1: none. */
    xAxisTextRight(): number {
        const { top, height } = this.s.plot
        for (let x = this.s.width - 1; x >= 0; x--)
            for (let y = top + height + 1; y < this.s.height; y++) if (this.is(x, y, "--muted", 100)) return x
        return -1
    }

    private is(x: number, y: number, colour: string, minAlpha: number): boolean {
        const i = (y * this.s.width + x) * 4
        const p = this.s.pixels
        const c = this.s.colours[colour]
        if (p[i + 3] < minAlpha) return false
        return Math.abs(p[i] - c[0]) + Math.abs(p[i + 1] - c[1]) + Math.abs(p[i + 2] - c[2]) < COLOUR_DISTANCE
    }

    private lightOf(y: number): number {
        const { top, height } = this.s.plot
        return Math.round(1023 * (1 - (y - top + 0.5) / height))
    }
}

/** Runs in the page (the test's tsconfig has Node's types, not the DOM's, hence the loose types). */
function readInPage(figure: PageElement, variables: string[]): (Omit<Snapshot, "pixels"> & { pixels: string }) | null {
    const canvas = figure.querySelector("canvas") as PageCanvas | null
    const plotArea = figure.querySelector(".u-over")
    if (!canvas || !plotArea || canvas.width === 0) return null
    const view = figure.ownerDocument.defaultView
    const style = view.getComputedStyle(figure.ownerDocument.documentElement)
    const colours: Record<string, [number, number, number]> = {}
    for (const name of variables) {
        const value = style.getPropertyValue(name).trim()
        const hex = /^#([0-9a-f]{6})$/i.exec(value)
        const rgba = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(value)
        if (hex) colours[name] = [0, 2, 4].map(i => parseInt(hex[1].slice(i, i + 2), 16)) as [number, number, number]
        else if (rgba) colours[name] = [Number(rgba[1]), Number(rgba[2]), Number(rgba[3])]
        else throw new Error(`cannot read the colour ${name}: ${value}`)
    }
    const canvasBox = canvas.getBoundingClientRect()
    const areaBox = plotArea.getBoundingClientRect()
    const scale = canvas.width / canvasBox.width
    const plot = {
        left: Math.round((areaBox.left - canvasBox.left) * scale),
        top: Math.round((areaBox.top - canvasBox.top) * scale),
        width: Math.round(areaBox.width * scale),
        height: Math.round(areaBox.height * scale),
    }
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data
    // as base64: a quarter of a million numbers cross to the test much faster as one string
    let binary = ""
    for (let i = 0; i < data.length; i += 0x8000)
        binary += String.fromCharCode(...Array.from(data.subarray(i, i + 0x8000)))
    return { width: canvas.width, height: canvas.height, plot, pixels: btoa(binary), colours }
}

/** The few DOM members readInPage uses (this tsconfig has no DOM library). */
interface PageBox {
    left: number
    top: number
    width: number
    height: number
}
interface PageElement {
    querySelector(selector: string): PageElement | null
    getBoundingClientRect(): PageBox
    ownerDocument: {
        documentElement: unknown
        defaultView: { getComputedStyle(element: unknown): { getPropertyValue(name: string): string } }
    }
}
interface PageCanvas extends PageElement {
    width: number
    height: number
    getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } }
}
