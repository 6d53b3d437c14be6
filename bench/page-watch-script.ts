/**
 * The page bench's watcher (page/page-watch.ts) as one script for Playwright's addInitScript: bundled
 * by esbuild, then started with its config. A script, not a function passed to the page: nothing of
 * this process's compiled code runs there. Built once per process.
 */
import { fileURLToPath } from "node:url"
import { buildSync } from "esbuild"
import type { WatchConfig } from "./page-watch-types"

const ENTRY = fileURLToPath(new URL("page/page-watch.ts", import.meta.url))

let bundle: string | undefined

export function watchScript(config: WatchConfig): string {
    bundle ??= buildSync({
        entryPoints: [ENTRY],
        bundle: true,
        write: false,
        format: "iife",
        globalName: "__pageBenchWatch",
        target: "es2020",
        platform: "browser",
        logLevel: "silent",
    }).outputFiles[0].text
    return `${bundle}\n__pageBenchWatch.startWatch(${JSON.stringify(config)});`
}
