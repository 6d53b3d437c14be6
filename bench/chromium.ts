/**
 * Headless Chromium for the bench page's browser test and for the dashboard's page bench (page-bench.ts):
 * Debian's chromium driven by playwright-core (no browser download), quiet and offline. Where it is
 * missing the test warns and skips, except under CI (CI set), where .ci/run installs it and a missing
 * browser is a failure.
 */
import { existsSync } from "node:fs"
import { chromium, type Browser } from "playwright-core"

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const IN_CI = Boolean(process.env.CI) && !["0", "false"].includes(process.env.CI!.toLowerCase())

/** No sandbox (containers and root lack the user namespaces it needs), no GPU, none of its own traffic. */
const ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

/** True when the browser test must be skipped; says so loudly. */
export function skipWithoutChromium(what: string): boolean {
    if (existsSync(CHROMIUM) || IN_CI) return false
    console.warn(
        `\n!!! WARNING: ${CHROMIUM} was not found: ${what} NOT tested. Install chromium or set CHROMIUM_PATH.\n`
    )
    return true
}

export function launchChromium(): Promise<Browser> {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (CI is set): apt-get install -y chromium`)
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })
}
