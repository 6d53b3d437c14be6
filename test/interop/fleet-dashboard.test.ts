// The dashboard of a big fleet (issue 17), in headless Chromium on the real server (embedded broker,
// dashboard on a free port) with 10,000 devices registered over real MQTT, each by one reading: the
// overview's counts and their filter, the virtualised table (sort, filter, scroll to the end, a live
// reading, the DOM's size), the device page by URL, and a small fleet's cards. Screenshots land in
// test-results/ (fleet-overview, fleet-table, device-page, small-fleet-cards).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { MqttClient } from "mqtt"
import type { Browser, Locator, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { DeviceStateName, SummaryResponse } from "../../server/http/api-types"
import { startServer, type RunningServer } from "../../server/app"
import { collectPageProblems, launchChromium, skipWithoutChromium } from "../helpers/browser"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { runSteps } from "../helpers/teardown"

const SKIP = skipWithoutChromium("test/interop/fleet-dashboard.test.ts", "The fleet dashboard in a browser")
const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url))

const THRESHOLD = 300
const FLEET = 10_000
/** Each client registers this many devices: the broker lets one client publish a burst of 1000. */
const PER_CLIENT = 500
const id = (i: number) => `lamp-${String(i).padStart(5, "0")}`
/** Every tenth device is dark (LED on); the others are bright, well above the band; one is brightest. */
const BRIGHTEST = 4321
const light = (i: number) => (i === BRIGHTEST ? 1023 : i % 10 === 0 ? (i * 13) % 250 : 400 + ((i * 37) % 600))
/** Deciding by themselves (`local: true`), reporting a LED the server disagrees with, and with a status. */
const LOCAL = range(100, 150)
const DISAGREEING = range(200, 230)
const OFFLINE = range(300, 340)
const ONLINE = range(400, 460)
/** Running config version 1 (long replaced), and refusing the server's config. */
const OLD_CONFIG = [500, 501]
const REFUSED_CONFIG = [502]
const REFUSAL = '7: "band" must be a whole number in 0..1023'
/** A group of three bright devices (off screen in the table sorted by id): its decision is "off". */
const GROUP = { name: "stairs", members: [9001, 9002, 9003] }
/** A group as big as a floor: its card lists a few members and counts the rest. */
const FLOOR = { name: "floor-2", members: range(5000, 7000) }
/** The DOM may not grow with the fleet: the page's elements stay under this at 10,000 devices. */
const DOM_MAX = 3000

function range(from: number, to: number): number[] {
    return Array.from({ length: to - from }, (_, k) => from + k)
}

function expectedCounts(): Record<DeviceStateName, number> {
    // The floor's members follow its decision (off: a tenth of them are dark), not their own light.
    const floor = new Set(FLOOR.members)
    const ledOn = range(0, FLEET).filter(i => light(i) < THRESHOLD && !floor.has(i)).length
    return {
        online: ONLINE.length,
        offline: OFFLINE.length,
        no_status: FLEET - ONLINE.length - OFFLINE.length,
        led_on: ledOn,
        led_off: FLEET - ledOn,
        local: LOCAL.length,
        stale: 0,
        readings_lost: 0,
        led_disagrees: DISAGREEING.length,
        config_old: OLD_CONFIG.length + REFUSED_CONFIG.length,
    }
}

describe.skipIf(SKIP)("the dashboard of 10,000 devices, in headless Chromium", () => {
    const { logger } = recordingLogger("warn")
    let dir: string | undefined
    let server: RunningServer | undefined
    const clients: MqttClient[] = []
    let browser: Browser | undefined
    let page: Page
    let problems: string[]

    beforeAll(async () => {
        mkdirSync(RESULTS_DIR, { recursive: true })
        const launching = launchChromium()
        dir = mkdtempSync(join(tmpdir(), "nightlight-fleet-dashboard-"))
        const groupsFile = join(dir, "groups.json")
        writeFileSync(
            groupsFile,
            JSON.stringify({
                groups: {
                    [GROUP.name]: { members: GROUP.members.map(id) },
                    [FLOOR.name]: { members: FLOOR.members.map(id) },
                },
            })
        )
        server = await startServer(
            {
                broker: { kind: "embedded", host: HOST, port: 0 },
                threshold: THRESHOLD,
                groupsFile,
                http: { enabled: true, host: HOST, port: 0 },
            },
            logger
        )
        for (let c = 0; c < FLEET / PER_CLIENT; c++) clients.push(await connectClient(server.brokerUrl))
        await Promise.all(
            clients.map(async (client, c) => {
                for (let i = c * PER_CLIENT; i < (c + 1) * PER_CLIENT; i++) {
                    const reading: Record<string, unknown> = { light: light(i) }
                    if (LOCAL.includes(i)) reading.local = true
                    if (DISAGREEING.includes(i)) reading.led = !(light(i) < THRESHOLD)
                    if (OLD_CONFIG.includes(i)) reading.cfg = 1
                    if (REFUSED_CONFIG.includes(i)) Object.assign(reading, { cfg: 1, cfgErr: REFUSAL })
                    await client.publishAsync(`${id(i)}/telemetry`, JSON.stringify(reading), { qos: 1 })
                }
            })
        )
        await until("the server knows every device", () => summaryNow()?.devices === FLEET, 30_000)
        for (const i of OFFLINE) await clients[0]!.publishAsync(`${id(i)}/status`, "offline", { qos: 1 })
        for (const i of ONLINE) await clients[1]!.publishAsync(`${id(i)}/status`, "online", { qos: 1 })
        await until("every status is taken", () => summaryNow()?.counts.online === ONLINE.length, 10_000)
        await until("every status is taken", () => summaryNow()?.counts.offline === OFFLINE.length, 10_000)

        browser = await launching
        page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
        page.setDefaultTimeout(5000)
        problems = collectPageProblems(page)
    }, 120_000)

    afterAll(async () => {
        await runSteps([
            ["close the browser", () => browser?.close()],
            ...clients.map((client, c): [string, () => Promise<void>] => [
                `close client ${c}`,
                () => closeClient(client),
            ]),
            ["stop the server", () => server?.stop()],
            [
                "remove the groups' folder",
                () => {
                    if (dir) rmSync(dir, { recursive: true, force: true })
                },
            ],
        ])
    })

    /** The server's counts, read the way the page reads them (refreshed in the background). */
    let lastSummary: SummaryResponse | undefined
    let summaryAsked = false
    function summaryNow(): SummaryResponse | undefined {
        if (!summaryAsked) {
            summaryAsked = true
            void fetch(`${server!.http!.url}/api/summary`)
                .then(r => r.json() as Promise<SummaryResponse>)
                .then(s => (lastSummary = s))
                .finally(() => (summaryAsked = false))
        }
        return lastSummary
    }

    const within = (timeout: number) => ({ timeout, interval: 100 })
    const rows = () => page.getByTestId("device-row")
    const row = (i: number): Locator => page.locator(`[data-testid="device-row"][data-device-id="${id(i)}"]`)
    /** The ids of the loaded rows, top to bottom. */
    const shownIds = () =>
        page.evaluate<string[]>(`[...document.querySelectorAll('[data-testid="device-row"][data-device-id]')]
            .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
            .map(row => row.dataset.deviceId)`)
    const domSize = () => page.evaluate<number>('document.getElementsByTagName("*").length')
    const shoot = (name: string, target: Page | Locator = page) =>
        target.screenshot({ path: join(RESULTS_DIR, `${name}.png`) })

    /** A fresh load of the fleet page (a goto that changes only the hash would keep the page as it is). */
    async function openFleet(hash = "#/"): Promise<void> {
        await page.goto("about:blank")
        await page.goto(`${server!.http!.url}/${hash}`)
        // (the first load also bundles the page: esbuild on a busy machine)
        await page.waitForSelector('[data-testid="live-badge"][data-state="live"]', { timeout: 15_000 })
        await expect.poll(() => rows().count(), within(5000)).toBeGreaterThan(0)
    }

    it("the overview counts the fleet by state, as the devices made it", async () => {
        await openFleet()
        const total = page.getByTestId("fleet-total")
        await expect.poll(() => total.getAttribute("data-count"), within(5000)).toBe(String(FLEET))
        expect(await total.textContent()).toBe("10,000 devices")
        for (const [state, count] of Object.entries(expectedCounts()))
            expect(await page.getByTestId(`count-${state}`).getAttribute("data-count"), state).toBe(String(count))
        await shoot("fleet-overview", page.getByTestId("fleet-overview"))
    })

    it("the groups show their decision, and their members' votes though the table does not show them", async () => {
        await openFleet()
        await expect
            .poll(() => page.getByTestId("fleet-groups").textContent(), within(5000))
            .toBe("2 groups: 0 on, 2 off")
        const card = page.locator(`[data-testid="group-card"][data-group="${GROUP.name}"]`)
        expect(await card.getByTestId("group-led").textContent()).toBe("LED off")
        for (const i of GROUP.members) {
            const member = card.locator(`[data-testid="group-member"][data-device-id="${id(i)}"]`)
            await expect.poll(() => member.getAttribute("data-vote"), within(5000)).toBe("light")
            expect(await member.textContent()).toBe(`${id(i)}light (${light(i)})`)
            expect(await row(i).count()).toBe(0)
        }
        const floor = page.locator(`[data-testid="group-card"][data-group="${FLOOR.name}"]`)
        expect(await floor.getByTestId("group-member").count()).toBe(24)
        expect(await floor.getByTestId("group-more-members").textContent()).toBe("and 1,976 more")
    })

    it("a count filters the table by its state; pressed again, it clears", async () => {
        await openFleet()
        const offline = page.getByTestId("count-offline")
        await offline.click()
        expect(await offline.getAttribute("aria-pressed")).toBe("true")
        expect(page.url()).toMatch(/#\/\?state=offline$/)
        const count = page.getByTestId("device-count")
        await expect.poll(() => count.textContent(), within(5000)).toBe(`(${OFFLINE.length} of 10,000)`)
        await expect.poll(shownIds, within(5000)).toEqual(OFFLINE.map(id).slice(0, (await shownIds()).length))
        const states = await page
            .locator('[data-testid="device-row"][data-device-id] [data-testid="row-state"]')
            .allTextContents()
        expect(new Set(states)).toEqual(new Set(["offline"]))
        await offline.click()
        expect(await offline.getAttribute("aria-pressed")).toBe("false")
        await expect.poll(() => count.textContent(), within(5000)).toBe("(10,000)")
    })

    it("sorted by light, brightest first; the DOM stays small", async () => {
        await openFleet()
        await page.getByTestId("sort-light").click()
        await expect.poll(async () => (await shownIds())[0], within(5000)).toBe(id(BRIGHTEST))
        expect(await row(BRIGHTEST).getByTestId("row-light").textContent()).toBe("1023")
        expect(page.url()).toMatch(/sort=light&order=desc/)
        const header = page.locator('[role="columnheader"]', { has: page.getByTestId("sort-light") })
        expect(await header.getAttribute("aria-sort")).toBe("descending")
        const lights = await page
            .locator('[data-testid="device-row"][data-device-id] [data-testid="row-light"]')
            .allTextContents()
        const numbers = lights.map(Number)
        expect(numbers).toEqual([...numbers].sort((a, b) => b - a))
        expect(await domSize()).toBeLessThan(DOM_MAX)
        await shoot("fleet-table")
    })

    it("filtered by a part of the id", async () => {
        await openFleet()
        await page.getByTestId("device-filter").fill("0999")
        const count = page.getByTestId("device-count")
        await expect.poll(() => count.textContent(), within(5000)).toBe("(11 of 10,000)")
        await expect.poll(shownIds, within(5000)).toEqual([999, ...range(9990, 10_000)].map(id))
        expect(page.url()).toMatch(/q=0999/)
    })

    it("scrolled to the end, the last device by id is there; the DOM stays small", async () => {
        await openFleet()
        const scroller = page.getByTestId("device-table-scroll")
        await scroller.evaluate(box => box.scrollTo({ top: box.scrollHeight }))
        await expect.poll(async () => (await shownIds()).at(-1), within(5000)).toBe(id(FLEET - 1))
        expect(await domSize()).toBeLessThan(DOM_MAX)
        // halfway, rows are there too (fetched for where the scroll stopped)
        await scroller.evaluate(box => box.scrollTo({ top: box.scrollHeight / 2 }))
        await expect.poll(async () => (await shownIds()).includes(id(FLEET / 2)), within(5000)).toBe(true)
        expect(await domSize()).toBeLessThan(DOM_MAX)
    })

    it("a live reading shows in its row", async () => {
        await openFleet()
        await expect.poll(() => row(3).isVisible(), within(5000)).toBe(true)
        const shown = row(3).getByTestId("row-light")
        expect(await shown.textContent()).toBe(String(light(3)))
        await clients[0]!.publishAsync(`${id(3)}/telemetry`, JSON.stringify({ light: 777 }), { qos: 1 })
        await expect.poll(() => shown.textContent(), within(5000)).toBe("777")
    })

    it("when the server forgets the page's stream (404 to its watch list), the page opens a new one", async () => {
        let refused = 0
        const opened: string[] = []
        const onRequest = (request: { url(): string }) => {
            if (new URL(request.url()).pathname === "/api/events") opened.push(request.url())
        }
        page.on("request", onRequest)
        await page.route("**/api/events/*/watch", async route => {
            if (refused++ > 0) return route.continue()
            await route.fulfill({ status: 404, contentType: "application/json", body: '{"error":"no such stream"}' })
        })
        try {
            await openFleet()
            await expect.poll(() => opened.length, within(5000)).toBe(2)
            // the watch list goes to the new stream
            await expect.poll(() => refused, within(5000)).toBeGreaterThanOrEqual(2)
            const shown = row(5).getByTestId("row-light")
            await clients[0]!.publishAsync(`${id(5)}/telemetry`, JSON.stringify({ light: 888 }), { qos: 1 })
            await expect.poll(() => shown.textContent(), within(5000)).toBe("888")
        } finally {
            page.off("request", onRequest)
            await page.unroute("**/api/events/*/watch")
        }
        // (Chromium logs the 404 it was told)
        const notFound = problems.findIndex(p => p.includes("404") && p.includes("/watch"))
        expect(notFound).toBeGreaterThanOrEqual(0)
        problems.splice(notFound, 1)
    })

    it("the table's filter and order come back with the URL", async () => {
        await openFleet("#/?state=offline&sort=light&order=desc")
        expect(await page.getByTestId("count-offline").getAttribute("aria-pressed")).toBe("true")
        const header = page.locator('[role="columnheader"]', { has: page.getByTestId("sort-light") })
        expect(await header.getAttribute("aria-sort")).toBe("descending")
        const byLight = [...OFFLINE].sort((a, b) => light(b) - light(a) || a - b).map(id)
        await expect.poll(shownIds, within(5000)).toEqual(byLight.slice(0, (await shownIds()).length))
    })

    it("a device's page by its URL: the card and its chart, also after a reload", async () => {
        await page.goto("about:blank")
        await page.goto(`${server!.http!.url}/#/device/${id(42)}`)
        const devicePage = page.getByTestId("device-page")
        const card = devicePage.locator(`[data-testid="device-card"][data-device-id="${id(42)}"]`)
        await expect.poll(() => card.getByTestId("device-light").textContent(), within(5000)).toBe(String(light(42)))
        expect(await page.getByTestId("fleet-view").isHidden()).toBe(true)
        const chart = card.getByTestId("device-chart")
        await expect.poll(async () => Number(await chart.getAttribute("data-points")), within(5000)).toBe(1)
        await page.reload()
        await expect.poll(() => card.getByTestId("device-light").textContent(), within(5000)).toBe(String(light(42)))
        await clients[0]!.publishAsync(`${id(42)}/telemetry`, JSON.stringify({ light: 555 }), { qos: 1 })
        await expect.poll(() => card.getByTestId("device-light").textContent(), within(5000)).toBe("555")
        await expect.poll(async () => Number(await chart.getAttribute("data-points")), within(5000)).toBe(2)
        await shoot("device-page")
        await page.getByTestId("back-to-fleet").click()
        await expect.poll(() => page.getByTestId("fleet-view").isVisible(), within(5000)).toBe(true)
        expect(await devicePage.isHidden()).toBe(true)
    })

    it("a reading that comes while the page's watch request is on its way still reaches the chart", async () => {
        // Hold the device page's watch request until a reading has come that the stream did not send.
        let release = () => undefined as void
        const held = new Promise<void>(resolve => (release = resolve))
        await page.route("**/api/events/*/watch", async route => {
            await held
            await route.continue()
        })
        try {
            await page.goto(`${server!.http!.url}/#/device/${id(43)}`)
            const card = page.locator(`[data-testid="device-card"][data-device-id="${id(43)}"]`)
            const chart = card.getByTestId("device-chart")
            await expect.poll(async () => Number(await chart.getAttribute("data-points")), within(5000)).toBe(1)
            const before = server!.controller.stats().received
            await clients[0]!.publishAsync(`${id(43)}/telemetry`, JSON.stringify({ light: 444 }), { qos: 1 })
            await until("the reading to arrive", () => server!.controller.stats().received > before)
            release()
            await expect.poll(() => card.getByTestId("device-light").textContent(), within(5000)).toBe("444")
            await expect.poll(async () => Number(await chart.getAttribute("data-points")), within(5000)).toBe(2)
        } finally {
            release()
            await page.unroute("**/api/events/*/watch")
        }
    })

    it("a device page says which config the device runs: old, refused, or none said", async () => {
        const version = server!.controller.deviceConfig().version
        const configOf = async (i: number) => {
            await page.goto(`${server!.http!.url}/#/device/${id(i)}`)
            const card = page.locator(`[data-testid="device-card"][data-device-id="${id(i)}"]`)
            await expect.poll(() => card.getByTestId("device-light").textContent(), within(5000)).toBe(String(light(i)))
            return card.getByTestId("device-config").textContent()
        }
        expect(await configOf(OLD_CONFIG[0]!)).toBe(`old: 1 (the server's: ${version})`)
        expect(await configOf(REFUSED_CONFIG[0]!)).toBe(`refused ${REFUSAL}`)
        expect(await configOf(7)).toBe("not reported")
    })

    it("an unknown device's page says so, with the way back", async () => {
        await page.goto(`${server!.http!.url}/#/device/${id(FLEET)}`)
        const message = page.getByTestId("device-page-message")
        await expect.poll(() => message.textContent(), within(5000)).toBe(`No device ${id(FLEET)}`)
        // (the 404 that told the page so: Chromium logs every error answer to fetch)
        const notFound = problems.findIndex(p => p.includes("404") && p.includes(`/api/devices/${id(FLEET)}`))
        expect(notFound).toBeGreaterThanOrEqual(0)
        problems.splice(notFound, 1)
        await page.getByTestId("back-to-fleet").click()
        await expect.poll(() => rows().count(), within(5000)).toBeGreaterThan(0)
    })

    it("on a phone, the table fits the width (no sideways scroll)", async () => {
        await openFleet()
        await page.setViewportSize({ width: 390, height: 844 })
        try {
            await expect
                .poll(() => page.evaluate<number>("document.documentElement.scrollWidth"), within(5000))
                .toBeLessThanOrEqual(390)
            expect(await row(0).getByTestId("row-light").isVisible()).toBe(true)
            await page.screenshot({ path: join(RESULTS_DIR, "fleet-table-phone.png") })
        } finally {
            await page.setViewportSize({ width: 1280, height: 900 })
        }
    })

    it("the devices' timing, changed on the page, reaches a device's config; a bad value is named", async () => {
        const inbox = await Inbox.open(clients[0]!, `${id(1)}/config`)
        const before = JSON.parse((await inbox.next()).payload) as { version: number; reportMs: number }
        await openFleet()
        const report = page.getByTestId("config-report-s")
        await expect.poll(() => report.inputValue(), within(5000)).toBe(String(before.reportMs / 1000))
        await report.fill("5")
        await page.getByTestId("device-config-save").click()
        const status = page.getByTestId("device-config-status")
        await expect.poll(() => status.textContent(), within(5000)).toMatch(/^Saved: sent to every device as version/)
        const after = JSON.parse((await inbox.next()).payload) as { version: number; reportMs: number }
        expect(after.reportMs).toBe(5000)
        expect(after.version).toBeGreaterThan(before.version)
        expect(await status.textContent()).toBe(`Saved: sent to every device as version ${after.version}.`)

        const localAfter = page.getByTestId("config-local-after-s")
        await localAfter.fill("0.5")
        await page.getByTestId("device-config-save").click()
        await expect.poll(() => localAfter.getAttribute("aria-invalid"), within(5000)).toBe("true")
        expect(await status.getAttribute("data-state")).toBe("error")
        expect(server!.controller.deviceConfig().localAfterMs).toBe(10_000) // unchanged
        // (the 400 that said so: Chromium logs every error answer to fetch)
        const refused = problems.findIndex(p => p.includes("400"))
        expect(refused).toBeGreaterThanOrEqual(0)
        problems.splice(refused, 1)
    })

    it("the page reports nothing wrong", () => {
        expect(problems).toEqual([])
    })
})

describe.skipIf(SKIP)("the dashboard of a small fleet keeps its cards", () => {
    const { logger } = recordingLogger("warn")
    const DEVICES = ["attic", "cellar", "garage", "hall", "porch"]
    let server: RunningServer | undefined
    let client: MqttClient | undefined
    let browser: Browser | undefined

    beforeAll(async () => {
        mkdirSync(RESULTS_DIR, { recursive: true })
        const launching = launchChromium()
        server = await startServer(
            {
                broker: { kind: "embedded", host: HOST, port: 0 },
                threshold: THRESHOLD,
                http: { enabled: true, host: HOST, port: 0 },
            },
            logger
        )
        client = await connectClient(server.brokerUrl)
        for (const [k, device] of DEVICES.entries())
            await client.publishAsync(`${device}/telemetry`, JSON.stringify({ light: 100 + k * 200 }), { qos: 1 })
        await client.publishAsync("porch/status", "offline", { qos: 1 })
        await until("the server knows every device", () => DEVICES.every(d => server!.store.registry.peek(d)))
        browser = await launching
    })

    afterAll(async () => {
        await runSteps([
            ["close the browser", () => browser?.close()],
            ["close the client", () => closeClient(client)],
            ["stop the server", () => server?.stop()],
        ])
    })

    it("shows a card per device under the overview, and no table; a count filters the cards", async () => {
        const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } })
        const problems = collectPageProblems(page)
        await page.goto(server!.http!.url)
        const cards = page.getByTestId("device-card")
        await expect.poll(() => cards.count(), { timeout: 5000, interval: 100 }).toBe(DEVICES.length)
        expect(await page.getByTestId("device-table").isHidden()).toBe(true)
        const total = page.getByTestId("fleet-total")
        await expect.poll(() => total.textContent(), { timeout: 5000, interval: 100 }).toBe("5 devices")
        await expect.poll(() => page.getByTestId("count-offline").getAttribute("data-count")).toBe("1")
        await page.screenshot({ path: join(RESULTS_DIR, "small-fleet-cards.png"), fullPage: true })
        await page.getByTestId("count-offline").click()
        const count = page.getByTestId("device-count")
        await expect.poll(() => count.textContent(), { timeout: 5000, interval: 100 }).toBe("(1 of 5)")
        expect(await page.locator('[data-testid="device-card"]:visible').getAttribute("data-device-id")).toBe("porch")
        await page.setViewportSize({ width: 390, height: 844 })
        await expect
            .poll(() => page.evaluate<number>("document.documentElement.scrollWidth"), { timeout: 5000, interval: 100 })
            .toBeLessThanOrEqual(390)
        expect(problems).toEqual([])
        await page.close()
    })

    it("grown past 24 devices while open, the page turns to the table", async () => {
        const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } })
        const problems = collectPageProblems(page)
        await page.goto(server!.http!.url)
        await expect.poll(() => page.getByTestId("device-card").count(), { timeout: 5000 }).toBe(DEVICES.length)
        for (let k = 0; k < 25; k++)
            await client!.publishAsync(`new-${String(k).padStart(2, "0")}/telemetry`, '{"light":500}', { qos: 1 })
        const table = page.getByTestId("device-table")
        await expect.poll(() => table.isVisible(), { timeout: 5000, interval: 100 }).toBe(true)
        expect(await page.getByTestId("device-card").count()).toBe(0)
        const count = page.getByTestId("device-count")
        await expect.poll(() => count.textContent(), { timeout: 5000, interval: 100 }).toBe("(30)")
        expect(problems).toEqual([])
        await page.close()
    })
})
