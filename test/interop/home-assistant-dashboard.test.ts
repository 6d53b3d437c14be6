/**
 * The dashboard's Home Assistant panel in headless Chromium, on the real server (embedded broker, Home
 * Assistant discovery on): a device deleted in Home Assistant is listed, and its button brings it back
 * into Home Assistant. Without Chromium this file warns loudly and skips, except under CI.
 */
import type { MqttClient } from "mqtt"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { configTopics } from "../../server/home-assistant/discovery"
import { collectPageProblems, launchChromium, skipWithoutChromium } from "../helpers/browser"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"

describe.skipIf(skipWithoutChromium("test/interop/home-assistant-dashboard.test.ts", "The Home Assistant panel"))(
    "the dashboard's Home Assistant panel",
    () => {
        const { logger, lines } = recordingLogger("info")
        let server: RunningServer
        let browser: Browser
        let page: Page
        let ha: MqttClient
        let problems: string[]

        beforeAll(async () => {
            server = await startServer(
                {
                    broker: { kind: "embedded", host: HOST, port: 0 },
                    threshold: 300,
                    http: { enabled: true, host: HOST, port: 0 },
                    homeAssistant: { enabled: true, prefix: "homeassistant", birthTopic: "homeassistant/status" },
                },
                logger
            )
            ha = await connectClient(server.brokerUrl)
            browser = await launchChromium()
            page = await browser.newPage()
            problems = collectPageProblems(page)
        })

        afterAll(async () => {
            await browser?.close()
            await closeClient(ha)
            await server?.stop()
        })

        test("a device deleted in Home Assistant is listed; its button brings it back", async () => {
            const configs = await Inbox.open(ha, "homeassistant/+/+/config")
            ha.publish("porch/telemetry", JSON.stringify({ light: 120 }))
            await configs.next()
            await configs.next()
            for (const topic of Object.values(configTopics("homeassistant", "porch")))
                ha.publish(topic, "", { retain: true, qos: 1 })
            await until("the deletion to be noticed", () => lines.join("").includes("porch was deleted"))
            await configs.next() // (Home Assistant's own deletions come back to it)
            await configs.next()

            await page.goto(server.http!.url)
            const panel = page.getByTestId("ha-panel")
            await panel.waitFor({ state: "visible", timeout: 10_000 })
            const row = panel.locator('li[data-device="porch"]')
            await row.waitFor({ timeout: 10_000 })
            await row.getByRole("button", { name: "Show in Home Assistant" }).click()

            const back = [await configs.next(), await configs.next()]
            expect(back.map(m => JSON.parse(m.payload).unique_id).sort()).toEqual([
                "nightlight_porch_led",
                "nightlight_porch_light",
            ])
            await page.getByTestId("ha-status").filter({ hasText: "porch is back in Home Assistant" }).waitFor()
            expect(await panel.locator("li").count()).toBe(0)
            expect(problems).toEqual([])
        })

        test("without discovery the panel stays hidden, and the page reports nothing wrong", async () => {
            const off = await startServer(
                {
                    broker: { kind: "embedded", host: HOST, port: 0 },
                    threshold: 300,
                    http: { enabled: true, host: HOST, port: 0 },
                },
                logger
            )
            try {
                const other = await browser.newPage()
                const seen = collectPageProblems(other)
                const asked = other.waitForResponse(r => r.url().endsWith("/api/home-assistant"))
                await other.goto(off.http!.url)
                expect((await asked).status()).toBe(200)
                expect(await other.getByTestId("ha-panel").isHidden()).toBe(true)
                expect(seen).toEqual([])
                await other.close()
            } finally {
                await off.stop()
            }
        })
    }
)
