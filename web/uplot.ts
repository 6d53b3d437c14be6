/**
 * uPlot, loaded by its own <script> from /vendor (served from node_modules) as the global `uPlot`; the
 * types come from the package. Read lazily: the page script may be evaluated before a slow script tag.
 */
import type uPlotClass from "uplot"

export type UPlot = uPlotClass
export type { default as uPlotTypes } from "uplot"

export function uPlotGlobal(): typeof uPlotClass {
    const constructor = (globalThis as { uPlot?: typeof uPlotClass }).uPlot
    if (!constructor) throw new Error("uPlot did not load (/vendor/uPlot.iife.min.js)")
    return constructor
}
