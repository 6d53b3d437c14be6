// The device page's config panel (issue 18) in headless Chromium on the real server (embedded broker,
// dashboard on a free port) with devices known over real MQTT: each value and where it comes from, the
// device's own values saved from the form reaching that device's `<id>/config` alone, a value out of
// range marked at its box, a group's change shown at once, Clear falling back;
// and a group card's members' config. Screenshots land in test-results/ (device-config-panel,
// group-config-form).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { MqttClient } from "mqtt"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import type { DeviceConfigPayload } from "../../server/protocol/contract"
import { collectPageProblems, launchChromium, skipWithoutChromium } from "../helpers/browser"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { runSteps } from "../helpers/teardown"

const SKIP = skipWithoutChromium("test/interop/device-config-page.test.ts", "The device page's config panel")
const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url))

describe.skipIf(SKIP)("a device's own config on its page, in headless Chromium", () => {
    const { logger } = recordingLogger("warn")
    let dir: string | undefined
    let server: RunningServer | undefined
    let client: MqttClient | undefined
    let browser: Browser | undefined
    let page: Page
    let problems: string[]
    const configs = new Map<string, DeviceConfigPayload[]>()
    const lastConfig = (id: string) => configs.get(id)?.at(-1)

    beforeAll(async () => {
        mkdirSync(RESULTS_DIR, { recursive: true })
        const launching = launchChromium()
        dir = mkdtempSync(join(tmpdir(), "nightlight-config-page-"))
        const groupsFile = join(dir, "groups.json")
        writeFileSync(groupsFile, JSON.stringify({ groups: { stairs: { members: ["porch", "hall"] } } }))
        server = await startServer(
            {
                broker: { kind: "embedded", host: HOST, port: 0 },
                threshold: 300,
                band: 100,
                groupsFile,
                http: { enabled: true, host: HOST, port: 0 },
            },
            logger
        )
        client = await connectClient(server.brokerUrl)
        client.on("message", (topic, payload) => {
            const id = topic.slice(0, -"/config".length)
            configs.set(id, [...(configs.get(id) ?? []), JSON.parse(payload.toString()) as DeviceConfigPayload])
        })
        await client.subscribeAsync("+/config", { qos: 1 })
        for (const id of ["porch", "hall"]) await client.publishAsync(`${id}/telemetry`, '{"light": 500}', { qos: 1 })
        await until(
            "both devices' configs",
            () => lastConfig("porch") !== undefined && lastConfig("hall") !== undefined
        )
        browser = await launching
        page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
        page.setDefaultTimeout(5000)
        problems = collectPageProblems(page)
    }, 60_000)

    afterAll(async () => {
        await runSteps([
            ["close the browser", () => browser?.close()],
            ["close the client", () => closeClient(client)],
            ["stop the server", () => server?.stop()],
            ["remove the folder", () => dir && rmSync(dir, { recursive: true, force: true })],
        ])
    })

    const within = { timeout: 5000, interval: 100 }
    const value = (name: string) => page.getByTestId(`device-config-${name}`).textContent()
    const box = (name: string) => page.getByTestId(`device-override-${name}`)

    async function api(method: string, path: string, body?: object): Promise<void> {
        const response = await fetch(`${server!.http!.url}${path}`, {
            method,
            headers: body ? { "content-type": "application/json" } : {},
            body: body ? JSON.stringify(body) : undefined,
        })
        expect(response.status, `${method} ${path}`).toBe(200)
    }

    it("shows each value and its source, and saves the device's own values for it alone", async () => {
        await api("PATCH", "/api/device-config/groups/stairs", { minChange: 5 })
        await page.goto(`${server!.http!.url}/#/device/porch`)
        await expect.poll(() => value("threshold"), within).toBe("300 · fleet")
        expect(await value("minChange")).toBe("5 · group")
        expect(await value("reportMs")).toBe("2 s · fleet")
        expect(await box("threshold").inputValue()).toBe("")

        const hallBefore = configs.get("hall")!.length
        await box("threshold").fill("600")
        await box("reportMs").fill("1")
        await page.getByTestId("device-override-save").click()
        await expect.poll(() => value("threshold"), within).toBe("600 · device")
        expect(await value("reportMs")).toBe("1 s · device")
        expect(await value("band")).toBe("100 · fleet")
        await until("porch's new config", () => lastConfig("porch")?.threshold === 600)
        expect(lastConfig("porch")).toMatchObject({ threshold: 600, reportMs: 1000, minChange: 5, band: 100 })
        const status = await page.getByTestId("device-override-status").textContent()
        expect(status).toBe(`Saved: version ${lastConfig("porch")!.version}.`)
        expect(configs.get("hall")!.length).toBe(hallBefore)
        await page.screenshot({ path: join(RESULTS_DIR, "device-config-panel.png"), fullPage: true })
    })

    it("marks a value out of range at its box and keeps the device's config", async () => {
        const before = lastConfig("porch")
        await box("band").fill("5000")
        await page.getByTestId("device-override-save").click()
        await expect.poll(() => box("band").getAttribute("aria-invalid"), within).toBe("true")
        expect(await page.getByTestId("device-override-status").textContent()).toMatch(/band must be an integer/)
        expect(await page.getByTestId("device-override-status").getAttribute("data-state")).toBe("error")
        expect(lastConfig("porch")).toEqual(before)
        await box("band").fill("")
    })

    it("shows a group's change at once, and Clear falls back", async () => {
        await api("PATCH", "/api/device-config/groups/stairs", { minChange: 7 })
        await until("porch's config with the group's value", () => lastConfig("porch")?.minChange === 7)
        // live, without a reading of porch: the stream's device event carries its new configSent
        await expect.poll(() => value("minChange"), within).toBe("7 · group")

        await page.getByTestId("device-override-clear").click()
        await expect.poll(() => value("threshold"), within).toBe("300 · fleet")
        expect(await value("reportMs")).toBe("2 s · fleet")
        expect(await box("threshold").inputValue()).toBe("")
        await until("porch's config back to the fleet's", () => lastConfig("porch")?.threshold === 300)
    })

    it("a group card's members' config reaches the members; a member's own value still wins", async () => {
        const card = page.locator('[data-testid="group-card"][data-group="stairs"]')
        await card.getByText("Members' config").click()
        const groupBox = (name: string) => card.getByTestId(`group-override-${name}`)
        await expect.poll(() => groupBox("minChange").inputValue(), within).toBe("7")
        await box("threshold").fill("650")
        await page.getByTestId("device-override-save").click()
        await until("porch's own threshold", () => lastConfig("porch")?.threshold === 650)

        await groupBox("threshold").fill("700")
        await groupBox("minChange").fill("")
        await card.getByTestId("group-override-save").click()
        await expect.poll(() => card.getByTestId("group-override-status").textContent(), within).toMatch(/^Saved/)
        await until("hall's config with the group's threshold", () => lastConfig("hall")?.threshold === 700)
        expect(lastConfig("hall")!.minChange).toBe(20)
        await until("porch's config without the group's minChange", () => lastConfig("porch")?.minChange === 20)
        await card.screenshot({ path: join(RESULTS_DIR, "group-config-form.png") })
        expect(lastConfig("porch")!.threshold).toBe(650)

        await card.getByTestId("group-override-clear").click()
        await until("hall back to the fleet's", () => lastConfig("hall")?.threshold === 300)
        // the answer to the DELETE may come after the members' configs
        await expect.poll(() => groupBox("threshold").inputValue(), within).toBe("")
        expect(problems.filter(p => !p.includes("status of 400"))).toEqual([])
    })
})
