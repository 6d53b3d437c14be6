/**
 * What the bench page needs to draw its charts, inline so that it opens from disk with nothing fetched:
 * page/draw-charts.ts bundled with uPlot by esbuild (one IIFE, about 55 KB minified), and uPlot's CSS.
 * Built once per process, on first use.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { buildSync } from "esbuild"

const ENTRY = fileURLToPath(new URL("page/draw-charts.ts", import.meta.url))

let assets: { script: string; css: string } | undefined

export function pageAssets(): { script: string; css: string } {
    if (assets) return assets
    const result = buildSync({
        entryPoints: [ENTRY],
        bundle: true,
        write: false,
        minify: true,
        format: "iife",
        target: "es2020",
        platform: "browser",
        charset: "utf8",
        legalComments: "none",
        logLevel: "silent",
    })
    const output = result.outputFiles[0]
    if (!output) throw new Error(`esbuild produced nothing for ${ENTRY}`)
    const css = readFileSync(createRequire(import.meta.url).resolve("uplot/dist/uPlot.min.css"), "utf8")
    // "</script" inside the bundle would end the page's script element early
    assets = { script: output.text.replace(/<\/script/gi, "<\\/script"), css }
    return assets
}
