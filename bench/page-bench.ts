/**
 * `npm run bench:page`: the dashboard in headless Chromium against our server with a registered fleet,
 * per fleet size (a fresh server and page each): the first useful screen, the DOM's size, the JS heap,
 * and how far the page lags the live stream under load (a probe device's light). Works on the card page
 * and the table page alike (page/page-watch.ts). See bench/README.md, "The dashboard page".
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { dirname } from "node:path"
import type { Browser, CDPSession, Page } from "playwright-core"
import { launchChromium } from "./chromium"
import { sleep } from "./load"
import { probeLag } from "./page-lag"
import { PAGE_FLEET, PageFleet, type ProbeSent } from "./page-fleet"
import { PAGE_HELP, parsePageArgs, type PageOptions } from "./page-options"
import { PAGE_TARGETS, pageVerdict, type PageReport, type PageRun } from "./page-report"
import { watchScript } from "./page-watch-script"
import type { WatchState } from "./page-watch-types"
import { printPageRuns } from "./page-print"
import { round } from "./stats"
import { freePort, HOST, killAllChildren, runCommand, spawnOurServer, waitForPort } from "./systems"
import { machine } from "./machine"

const PAGE_BENCH = {
    file: "test-results/bench-page.json",
    /** the first useful screen is waited for this long (ms), then reported as "> 30 s" */
    usefulBoundMs: 30_000,
    /** after the first useful screen, the page settles this long before the DOM and heap are read (ms) */
    settleMs: 2000,
    /** the server must know the whole fleet within this (ms) */
    registerBoundMs: 60_000,
    /** after the load, the last probe value is waited for this long (ms) */
    lastValueBoundMs: 10_000,
    /** any one look into the page (its main thread may be busy) is given up after this (ms) */
    evaluateBoundMs: 20_000,
    viewport: { width: 1280, height: 900 },
}

const log = (line: string) => console.error(`--- ${line}`)
let activeFleet: PageFleet | undefined
let browser: Browser | undefined

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
    })
    return Promise.race([promise, bound]).finally(() => clearTimeout(timer))
}

/** An expression evaluated in the page (a string: nothing of this process's compiled code goes there). */
function look<T>(page: Page, expression: string): Promise<T> {
    return within(page.evaluate<T>(expression), PAGE_BENCH.evaluateBoundMs, `the page (${expression})`)
}

async function metric(cdp: CDPSession, name: string): Promise<number> {
    const { metrics } = await within(cdp.send("Performance.getMetrics"), PAGE_BENCH.evaluateBoundMs, "metrics")
    const found = metrics.find(m => m.name === name)
    if (!found) throw new Error(`Chromium reports no ${name}`)
    return found.value
}

/** Every device known to the server (GET /api/summary), polled until `count` or the bound. */
async function waitForFleet(httpUrl: string, count: number): Promise<number> {
    const deadline = Date.now() + PAGE_BENCH.registerBoundMs
    let known = 0
    while (Date.now() < deadline) {
        try {
            const response = await fetch(`${httpUrl}/api/summary`, { signal: AbortSignal.timeout(5000) })
            if (response.ok) known = ((await response.json()) as { devices: number }).devices
        } catch {
            // not listening yet, or busy: ask again
        }
        if (known >= count) return known
        await sleep(250)
    }
    return known
}

/**
 * The page's files fetched once: the server bundles web/app.ts on its first request, a cost of its
 * start (about a second), not of the page.
 */
async function warmStaticFiles(httpUrl: string): Promise<void> {
    for (const path of ["/", "/app.js", "/style.css", "/vendor/uPlot.iife.min.js", "/vendor/uPlot.min.css"]) {
        const response = await fetch(`${httpUrl}${path}`, { signal: AbortSignal.timeout(30_000) })
        if (!response.ok) throw new Error(`GET ${path}: ${response.status}`)
        await response.arrayBuffer()
    }
}

async function benchSize(devices: number, options: PageOptions, runId: string): Promise<PageRun> {
    const mqttPort = await freePort()
    const httpPort = await freePort()
    const server = spawnOurServer(["--mqtt-port", String(mqttPort)], "our server", { httpPort })
    const httpUrl = `http://${HOST}:${httpPort}`
    const connections = PageFleet.connectionsFor(options.rate, devices)
    const fleet = new PageFleet(`mqtt://${HOST}:${mqttPort}`, devices, `pb${runId}`, connections)
    activeFleet = fleet
    try {
        await waitForPort(mqttPort, "our server")
        await waitForPort(httpPort, "our dashboard")
        const t0 = performance.now()
        await fleet.connect()
        fleet.register()
        const known = await waitForFleet(httpUrl, devices)
        if (known < devices) throw new Error(`the server knows ${known} of ${devices} devices after the bound`)
        log(`${devices} devices registered over ${connections} connections in ${Math.round(performance.now() - t0)} ms`)
        await warmStaticFiles(httpUrl)
        return await measurePage(fleet, httpUrl, connections, options)
    } finally {
        await fleet.close()
        activeFleet = undefined
        await server.stop()
    }
}

async function measurePage(fleet: PageFleet, url: string, connections: number, options: PageOptions): Promise<PageRun> {
    const devices = fleet.ids.length
    const context = await browser!.newContext({ viewport: PAGE_BENCH.viewport })
    try {
        const page = await context.newPage()
        await page.addInitScript({ content: watchScript({ devices, probe: fleet.probe }) })
        const cdp = await context.newCDPSession(page)
        await cdp.send("Performance.enable")
        const loadAverage = round(loadavg()[0], 2)
        await page.goto(url, { waitUntil: "commit", timeout: PAGE_BENCH.usefulBoundMs })
        const { usefulMs, usefulDomMs } = await usefulScreen(page)
        log(`${devices} devices: first useful screen ${usefulMs === null ? "> 30 s" : `${usefulMs} ms`}`)
        await sleep(PAGE_BENCH.settleMs)
        const domElements = await look<number>(page, 'document.getElementsByTagName("*").length')
        await within(cdp.send("HeapProfiler.collectGarbage"), PAGE_BENCH.evaluateBoundMs, "garbage collection")
        const heapMB = round((await metric(cdp, "JSHeapUsedSize")) / 2 ** 20, 1)
        log(
            `${devices} devices: ${domElements} elements, heap ${heapMB} MB; ${options.rate} readings/s for ${options.seconds} s`
        )

        const busy0 = await metric(cdp, "TaskDuration")
        const wall0 = performance.now()
        const { probe, published } = await fleet.offer(options.rate, options.seconds)
        const wallS = (performance.now() - wall0) / 1000
        const busy = await metric(cdp, "TaskDuration").then(
            b => round(((b - busy0) / wallS) * 100, 0),
            () => null
        )
        const shown = await lastValueShown(page, probe)
        // what the page showed at the end, to look at (bounded: a busy page may take long to draw)
        const screenshot = `test-results/bench-page-${devices}.png`
        await page
            .screenshot({ path: screenshot, timeout: PAGE_BENCH.evaluateBoundMs })
            .catch((error: Error) => log(`${devices} devices: no screenshot (${error.message.split("\n")[0]})`))
        const lag = probeLag(probe, shown)
        const run = {
            devices,
            connections,
            usefulMs,
            usefulDomMs,
            usefulBoundMs: PAGE_BENCH.usefulBoundMs,
            domElements,
            heapMB,
            offeredPerS: options.rate,
            sentPerS: Math.round(published / wallS),
            seconds: options.seconds,
            lag,
            mainThreadBusyPercent: busy,
            loadAverage,
        }
        log(
            `${devices} devices: lag median ${lag.medianMs} ms, p95 ${lag.p95Ms} ms, max ${lag.maxMs} ms; ` +
                `${lag.shown}/${lag.sent} values shown, ${lag.neverShown} never; main thread busy ${busy}%`
        )
        return { ...run, verdict: pageVerdict(run) }
    } finally {
        await context.close()
    }
}

/**
 * ms from navigation start to the first useful screen as the watcher saw it (rendered, and in the DOM);
 * null past the bound. Polled with evaluate (the dashboard's CSP forbids waitForFunction's string predicates).
 */
async function usefulScreen(page: Page): Promise<{ usefulMs: number | null; usefulDomMs: number | null }> {
    const deadline = Date.now() + PAGE_BENCH.usefulBoundMs
    const bounded = (at: number | null) => (at !== null && at <= PAGE_BENCH.usefulBoundMs ? Math.round(at) : null)
    // a page too busy to answer within the bound has not shown it either
    const state = () => look<WatchState | null>(page, "window.__pageBench || null").catch(() => null)
    while (Date.now() < deadline) {
        const now = await state()
        if (now?.usefulAt != null) return { usefulMs: bounded(now.usefulAt), usefulDomMs: bounded(now.usefulDomAt) }
        await sleep(100)
    }
    // not shown in time, but perhaps already in the document
    return { usefulMs: null, usefulDomMs: bounded((await state())?.usefulDomAt ?? null) }
}

/** The probe's changes the page recorded, once the last value sent showed or the bound passed. */
async function lastValueShown(page: Page, probe: ProbeSent[]): Promise<WatchState["shown"]> {
    const last = probe.at(-1)?.value
    const deadline = Date.now() + PAGE_BENCH.lastValueBoundMs
    for (;;) {
        const shown = await look<WatchState["shown"]>(page, "window.__pageBench.shown").catch(
            (): WatchState["shown"] => []
        )
        if (last === undefined || shown.some(s => s.value === last) || Date.now() >= deadline) return shown
        await sleep(200)
    }
}

/** The watchdog's bound (ms): whatever hangs, the run ends. */
function budget(options: PageOptions): number {
    const perSize = (devices: number) =>
        30_000 +
        PAGE_BENCH.registerBoundMs +
        PAGE_BENCH.usefulBoundMs +
        PAGE_BENCH.settleMs +
        4 * PAGE_BENCH.evaluateBoundMs +
        options.seconds * 1000 +
        PAGE_BENCH.lastValueBoundMs +
        devices
    return 30_000 + options.devices.reduce((sum, d) => sum + perSize(d), 0)
}

function gitCommit(): string {
    try {
        return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()
    } catch {
        return "unknown"
    }
}

async function main(): Promise<void> {
    let options: PageOptions | undefined
    try {
        options = parsePageArgs(process.argv.slice(2))
    } catch (error) {
        console.error(`bench:page: ${(error as Error).message} (run with --help for usage)`)
        process.exitCode = 2
        return
    }
    if (!options) return void console.log(PAGE_HELP)
    const started = performance.now()
    const budgetMs = budget(options)
    setTimeout(() => {
        console.error(`!!! bench:page: still running after ${Math.round(budgetMs / 1000)} s, giving up`)
        shutdown(1)
    }, budgetMs).unref()

    browser = await launchChromium()
    const runId = Math.random().toString(36).slice(2, 6)
    const runs: PageRun[] = []
    try {
        for (const devices of options.devices) {
            log(`${devices} devices: starting`)
            runs.push(await benchSize(devices, options, runId))
        }
    } finally {
        await browser.close()
    }
    const report: PageReport = {
        date: new Date().toISOString(),
        commit: gitCommit(),
        node: process.version,
        chromium: browser.version(),
        machine: machine(),
        durationS: Math.round((performance.now() - started) / 1000),
        targets: PAGE_TARGETS,
        runs,
    }
    printPageRuns(report)
    mkdirSync(dirname(PAGE_BENCH.file), { recursive: true })
    writeFileSync(PAGE_BENCH.file, JSON.stringify(report, null, 4) + "\n")
    console.log(`\nJSON: ${PAGE_BENCH.file}\n(${report.durationS} s in all; probe every ${PAGE_FLEET.probeEveryMs} ms)`)
}

let shuttingDown = false

function shutdown(code: number): void {
    if (shuttingDown) return
    shuttingDown = true
    activeFleet?.destroy()
    killAllChildren()
    void Promise.race([browser?.close(), sleep(3000)]).finally(() => process.exit(code))
}

runCommand("bench:page", main, shutdown)
