/**
 * What the server's log says about a settings change through the HTTP API (PATCH /api/settings): one
 * "new settings" line for a change, nothing for a PATCH that changes nothing (a form sent twice).
 */
import { afterAll, beforeAll, expect, test } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { HOST, recordingLogger } from "../helpers/mqtt"

const { logger, lines } = recordingLogger("info")
let server: RunningServer

beforeAll(async () => {
    server = await startServer(
        {
            broker: { kind: "embedded", host: HOST, port: 0 },
            threshold: 300,
            band: 100,
            http: { enabled: true, host: HOST, port: 0 },
        },
        logger
    )
})

afterAll(async () => {
    await server?.stop()
})

async function patch(body: unknown): Promise<number> {
    const response = await fetch(`${server.http!.url}/api/settings`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
    })
    await response.text()
    return response.status
}

const newSettingsLines = () => lines.filter(l => l.includes("new settings"))

test("a change is logged once; the same values again are not a change", async () => {
    expect(await patch({ threshold: 250 })).toBe(200)
    expect(newSettingsLines()).toHaveLength(1)
    expect(newSettingsLines()[0]).toContain("LED on when light < 250, off again when light >= 350")
    expect(await patch({ threshold: 250 })).toBe(200)
    expect(await patch({ threshold: 250, band: 100 })).toBe(200)
    expect(await patch({})).toBe(200)
    expect(newSettingsLines()).toHaveLength(1)
    expect(server.controller.settings()).toEqual({ threshold: 250, band: 100 })
})
