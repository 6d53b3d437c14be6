/**
 * The live stream (`GET /api/events`) holds a socket, timers and events per device for as long as the
 * client keeps it open; 1000 streams were all served. At most 100 are open at once; past that the
 * answer is 503 with Retry-After (the page retries by itself, web/live.ts), and a stream that closes
 * frees its place.
 */
import { request, type ClientRequest, type IncomingMessage } from "node:http"
import { afterEach, describe, expect, test } from "vitest"
import { HTTP_DEFAULTS, HttpServer } from "../../server/http/http-server"
import { MemoryBackend } from "../helpers/api-backend"
import { otherAddress } from "../helpers/attacker"
import { HOST, recordingLogger, until, within } from "../helpers/mqtt"

const running: HttpServer[] = []
const requests: ClientRequest[] = []
afterEach(async () => {
    for (const r of requests.splice(0)) r.destroy()
    for (const s of running.splice(0)) await s.stop()
})

/** Opens /api/events from `from`; resolves with the response once its head arrived. */
function openStream(port: number, from: string): Promise<IncomingMessage> {
    return within(
        5000,
        `a live stream from ${from}`,
        new Promise<IncomingMessage>((resolve, reject) => {
            const req = request({ host: HOST, port, path: "/api/events", localAddress: from, agent: false }, resolve)
            req.on("error", reject)
            req.end()
            requests.push(req)
        })
    )
}

describe("live streams", () => {
    test("150 streams from 5 addresses: 100 are served, 50 get 503; a closed one frees its place", async () => {
        const { logger, lines } = recordingLogger("info")
        const server = new HttpServer({ backend: new MemoryBackend(), host: HOST, port: 0, logger })
        await server.start()
        running.push(server)
        const port = Number(new URL(server.url).port)
        const answers: IncomingMessage[] = []
        for (let i = 0; i < 150; i++) answers.push(await openStream(port, otherAddress(i % 5)))
        const served = answers.filter(a => a.statusCode === 200)
        const refused = answers.filter(a => a.statusCode === 503)
        expect(served).toHaveLength(HTTP_DEFAULTS.maxLiveStreams)
        expect(refused).toHaveLength(50)
        expect(refused[0].headers["retry-after"]).toBe("10")
        expect(server.stats()).toMatchObject({ liveStreams: 100, liveStreamsRefused: 50 })
        expect(lines.filter(l => l.includes("refused a live stream"))).toHaveLength(1)

        served[0].destroy()
        await until("the closed stream to be forgotten", () => server.stats().liveStreams === 99)
        expect((await openStream(port, otherAddress(9))).statusCode).toBe(200)
    })
})
