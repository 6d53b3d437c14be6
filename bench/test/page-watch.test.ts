/**
 * The page bench's watcher (bench/page/page-watch.ts) in Chromium, on two stand-ins for the dashboard:
 * today's cards ("(N)" after the title, `device-card` with `data-device-id` and `device-light`) and the
 * table that replaces them (`fleet-total`'s `data-count`, `device-row`s with a `row-light` and the id as
 * text, rows replaced as they are recycled). On both it must see the first useful screen only once the
 * fleet's whole size and a device show, and record each light value the probe shows.
 */
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { launchChromium, skipWithoutChromium } from "../chromium"
import { watchScript } from "../page-watch-script"
import type { WatchState } from "../page-watch-types"

const PROBE = "pbx-00"
const URL = "http://dashboard.test/"

const CARDS = `<h2>Devices <span data-testid="device-count"></span></h2><div id="list"></div>`
const TABLE = `<p data-testid="fleet-total" data-count="0">0 devices</p><table><tbody id="list"></tbody></table>`

/** A card of today's page, as web/device-card.ts makes it (the parts the watcher reads). */
const card = (id: string, light: string) =>
    `<article data-testid="device-card" data-device-id="${id}"><h3>${id}</h3><dl><dd data-testid="device-light">${light}</dd></dl></article>`
/** A row of the table; no data-device-id, so the watcher finds the probe by its text. */
const row = (id: string, light: string) =>
    `<tr data-testid="device-row"><td>${id}</td><td data-testid="row-light">${light} lx</td></tr>`

describe.skipIf(skipWithoutChromium("the page bench's watcher"))("the page bench's watcher in Chromium", () => {
    let browser: Browser
    beforeAll(async () => {
        browser = await launchChromium()
    })
    afterAll(async () => {
        await browser?.close()
    })

    async function open(body: string): Promise<Page> {
        const page = await browser.newPage()
        await page.route(URL, route => route.fulfill({ contentType: "text/html", body: `<body>${body}</body>` }))
        await page.addInitScript({ content: watchScript({ devices: 2, probe: PROBE }) })
        await page.goto(URL)
        return page
    }
    const state = (page: Page) => page.evaluate<WatchState>("window.__pageBench")
    /** Two frames: the watcher's observer and the task it posts have run by then. */
    const twoFrames = (page: Page) =>
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    const run = (page: Page, script: string) => page.evaluate(`{ ${script} }`)

    test("today's cards: useful once the count reads (2) and a card shows; each light value recorded", async () => {
        const page = await open(CARDS)
        await run(page, `document.getElementById("list").innerHTML = '${card(PROBE, "1000")}'`)
        await run(page, `document.querySelector('[data-testid="device-count"]').textContent = "(1)"`)
        await twoFrames(page)
        expect((await state(page)).usefulAt).toBeNull()

        await run(page, `document.querySelector('[data-testid="device-count"]').textContent = "(2)"`)
        await expect.poll(async () => (await state(page)).usefulAt, { timeout: 5000 }).not.toBeNull()
        const { usefulAt, usefulDomAt } = await state(page)
        expect(usefulDomAt).not.toBeNull()
        expect(usefulDomAt!).toBeLessThanOrEqual(usefulAt!)

        const light = `document.querySelector('[data-testid="device-light"]')`
        for (const value of [400, 401, 402]) {
            await run(page, `${light}.textContent = "${value}"`)
            await expect
                .poll(async () => (await state(page)).shown.map(s => s.value).at(-1), { timeout: 5000 })
                .toBe(value)
        }
        const shown = (await state(page)).shown
        expect(shown.map(s => s.value)).toEqual([1000, 400, 401, 402])
        const now = await page.evaluate<number>("performance.timeOrigin + performance.now()")
        for (const s of shown) expect(s.at).toBeLessThanOrEqual(now)
        await page.close()
    })

    test("the value on the first useful screen is recorded even when the page changes it in the next task", async () => {
        const page = await open(CARDS)
        await run(page, `document.getElementById("list").innerHTML = '${card(PROBE, "1000")}'`)
        // The watcher's observer runs in the microtask before ours and posts its task first, so 400 is
        // written in the task right after the screen became useful: before any frame or timer.
        await page.evaluate(`new Promise(resolve => {
            document.querySelector('[data-testid="device-count"]').textContent = "(2)"
            queueMicrotask(() => {
                const channel = new MessageChannel()
                channel.port1.onmessage = () => {
                    document.querySelector('[data-testid="device-light"]').textContent = "400"
                    resolve(window.__pageBench.usefulAt !== null)
                }
                channel.port2.postMessage(null)
            })
        })`)
        await expect.poll(async () => (await state(page)).shown.map(s => s.value).at(-1), { timeout: 5000 }).toBe(400)
        expect((await state(page)).shown.map(s => s.value)).toEqual([1000, 400])
        await page.close()
    })

    test("the table: useful once data-count is 2 and a row shows; the probe's row found by its text, even recycled", async () => {
        const page = await open(TABLE)
        await run(page, `document.getElementById("list").innerHTML = '${row(PROBE, "1000") + row("pbx-01", "500")}'`)
        await twoFrames(page)
        expect((await state(page)).usefulAt).toBeNull()

        await run(page, `document.querySelector('[data-testid="fleet-total"]').dataset.count = "2"`)
        await expect.poll(async () => (await state(page)).usefulAt, { timeout: 5000 }).not.toBeNull()

        // a new value in place, then the probe's row replaced by a new element with the next one
        await run(page, `document.querySelector('[data-testid="row-light"]').textContent = "400 lx"`)
        await expect.poll(async () => (await state(page)).shown.map(s => s.value), { timeout: 5000 }).toContain(400)
        await run(page, `document.getElementById("list").innerHTML = '${row("pbx-01", "501") + row(PROBE, "401")}'`)
        await expect.poll(async () => (await state(page)).shown.map(s => s.value), { timeout: 5000 }).toContain(401)
        // the other device's light is never taken for the probe's
        expect((await state(page)).shown.map(s => s.value)).toEqual([1000, 400, 401])
        await page.close()
    })
})
