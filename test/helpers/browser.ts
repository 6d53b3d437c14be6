/**
 * Headless Chromium for the dashboard's browser test: Debian's chromium driven by playwright-core (no
 * browser download). Where it is missing, the test warns loudly and skips, except under CI (CI set),
 * where a missing browser is a failure: .ci/run installs it. Also collects what the page reports as
 * wrong (console errors, CSP violations included, and uncaught exceptions), for the test to assert on.
 */
import { existsSync } from "node:fs"
import { chromium, type Browser, type Page } from "playwright-core"
import { IN_CI } from "./mosquitto"

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

/**
 * Quiet and offline: no sandbox (containers and root lack the user namespaces it needs), no GPU, and
 * none of the browser's own traffic (updates, sync, QUIC probes) on a machine that has no internet.
 */
const CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

/** True when a browser test file must be skipped; says so loudly. */
export function skipWithoutChromium(file: string, what: string): boolean {
    if (existsSync(CHROMIUM) || IN_CI) return false
    console.warn(
        "\n" +
            `!!! WARNING: ${file} SKIPPED: ${CHROMIUM} was not found.\n` +
            `!!! ${what} has NOT been tested on this machine.\n` +
            "!!! Install it (Debian: sudo apt-get install -y chromium) or set CHROMIUM_PATH.\n" +
            "!!! Under CI (CI set) this file fails instead of skipping.\n"
    )
    return true
}

/** Starts headless Chromium; under CI a missing binary is an error naming the package to install. */
export async function launchChromium(): Promise<Browser> {
    if (!existsSync(CHROMIUM))
        throw new Error(`${CHROMIUM} is missing (CI is set, so this is a failure): apt-get install -y chromium`)
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
}

/**
 * Records the page's console errors and uncaught exceptions from now on. A CSP violation is a console
 * error in Chromium ("Refused to …"), and so is a failed resource ("Failed to load resource: …").
 */
export function collectPageProblems(page: Page): string[] {
    const problems: string[] = []
    page.on("console", message => {
        if (message.type() !== "error") return
        const { url, lineNumber } = message.location()
        problems.push(`console error: ${message.text()}${url ? ` (${url}:${lineNumber})` : ""}`)
    })
    page.on("pageerror", error => problems.push(`uncaught in the page: ${error.stack ?? error.message}`))
    return problems
}
