/**
 * Home Assistant discovery on the whole server (startServer), on both kinds of broker: the embedded one
 * and an external Mosquitto (--mqtt-url), alone and in a share group, where the server speaks MQTT 5 (to
 * which Mosquitto 2.0 sends a message once per matching subscription). A real mqtt.js client plays Home Assistant: it reads the
 * configs, sends its birth message and deletes a device the way Home Assistant does (an empty retained
 * message on each of the device's config topics). What a user checks: the configs come back once per
 * birth, on the birth topic Home Assistant really uses; a deleted device stays deleted (its readings,
 * the next birth, a restart) until the API brings it back.
 *
 * Without the mosquitto binary the Mosquitto half warns loudly and skips, except under CI.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MqttClient } from "mqtt"
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest"
import type { HomeAssistantView } from "../../server/http/api-types"
import { startServer, type RunningServer, type ServerSettings } from "../../server/app"
import { configTopics } from "../../server/home-assistant/discovery"
import { Mosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { HOST, Inbox, closeClient, connectClient, freePort, recordingLogger, until } from "../helpers/mqtt"

interface Broker {
    name: string
    skip: boolean
    /** The broker part of the settings, and how clients reach the broker once the server runs. */
    setup(): Promise<{ broker: ServerSettings["broker"]; url: (server: RunningServer) => string }>
    teardown(): Promise<void>
}

let mosquitto: Mosquitto | undefined
const brokers: Broker[] = [
    {
        name: "the embedded broker",
        skip: false,
        // a fixed port, so the clients find the restarted server's broker where it was
        setup: async () => ({
            broker: { kind: "embedded", host: HOST, port: await freePort() },
            url: server => server.brokerUrl,
        }),
        teardown: async () => undefined,
    },
    ...[undefined, "lights"].map(shareGroup => ({
        name: shareGroup ? "an external Mosquitto, in a share group (MQTT 5)" : "an external Mosquitto",
        skip: skipWithoutMosquitto("test/interop/home-assistant-brokers.test.ts", "Home Assistant on Mosquitto"),
        setup: async () => {
            mosquitto = new Mosquitto(await freePort())
            await mosquitto.start()
            const url = mosquitto.url
            return { broker: { kind: "external" as const, url, shareGroup }, url: () => url }
        },
        teardown: async () => {
            await mosquitto?.stop()
            mosquitto?.cleanup()
        },
    })),
]

describe.each(brokers)("Home Assistant discovery on $name", b => {
    const { logger, lines } = recordingLogger("info")
    let dir: string
    let broker: ServerSettings["broker"]
    let urlOf: (server: RunningServer) => string
    let server: RunningServer | undefined
    const clients: MqttClient[] = []

    beforeAll(async () => {
        if (b.skip) return
        ;({ broker, url: urlOf } = await b.setup())
    })
    afterAll(async () => {
        if (!b.skip) await b.teardown()
    })
    afterEach(async () => {
        await Promise.all(clients.splice(0).map(c => closeClient(c)))
        await server?.stop()
        server = undefined
        if (dir) rmSync(dir, { recursive: true, force: true })
        dir = ""
        lines.length = 0
    })

    async function start(homeAssistant: Partial<NonNullable<ServerSettings["homeAssistant"]>> = {}) {
        dir ||= mkdtempSync(join(tmpdir(), "nightlight-ha-"))
        server = await startServer(
            {
                broker,
                threshold: 300,
                dataDir: dir,
                http: { enabled: true, host: HOST, port: 0 },
                homeAssistant: { enabled: true, prefix: "homeassistant", ...homeAssistant } as NonNullable<
                    ServerSettings["homeAssistant"]
                >,
            },
            logger,
            { reconnectPeriodMs: 200 }
        )
        return server
    }

    async function client(): Promise<MqttClient> {
        const c = await connectClient(urlOf(server!))
        clients.push(c)
        return c
    }

    /**
     * Home Assistant's view of the configs under `prefix`: every config message it receives, in order.
     * `until(deviceId)` waits for that device's pair and returns what came before it.
     */
    async function watch(ha: MqttClient, prefix: string) {
        const inbox = await Inbox.open(ha, `${prefix}/+/+/config`)
        return {
            async until(deviceId: string): Promise<{ topic: string; payload: string }[]> {
                const where = configTopics(prefix, deviceId)
                const seen: { topic: string; payload: string }[] = []
                const got = new Set<string>()
                while (got.size < 2) {
                    const m = await inbox.next()
                    if ((m.topic === where.sensor || m.topic === where.light) && m.payload !== "") got.add(m.topic)
                    else seen.push({ topic: m.topic, payload: m.payload })
                }
                return seen
            },
        }
    }

    /**
     * A device of its own that reports once: its configs mark a point in the server's output. Sent by
     * the client that sent what it is to follow (a broker keeps one client's messages in order).
     */
    function sentinel(client: MqttClient, id: string) {
        client.publish(`${id}/telemetry`, JSON.stringify({ light: 500 }))
    }

    /** The configs of `deviceId` among `seen` (empty ones, deletions, left out). */
    const configsOf = (seen: { topic: string; payload: string }[], prefix: string, deviceId: string) => {
        const where = configTopics(prefix, deviceId)
        return seen.filter(m => (m.topic === where.sensor || m.topic === where.light) && m.payload !== "")
    }

    async function api<T>(path: string, method = "GET"): Promise<{ status: number; body: T }> {
        const response = await fetch(`${server!.http!.url}${path}`, { method })
        return { status: response.status, body: (await response.json()) as T }
    }

    for (const prefix of ["homeassistant", "my-prefix"])
        test.skipIf(b.skip)(
            `the birth message on homeassistant/status sends the configs again once (--ha-prefix ${prefix})`,
            async () => {
                await start({ prefix })
                const ha = await client()
                const device = await client()
                const configs = await watch(ha, prefix)
                device.publish(`kitchen-${prefix}/telemetry`, JSON.stringify({ light: 120 }))
                await configs.until(`kitchen-${prefix}`)

                // Home Assistant's birth topic is homeassistant/status unless set otherwise in Home Assistant
                ha.publish("homeassistant/status", "online")
                await configs.until(`kitchen-${prefix}`)
                sentinel(ha, `sentinel-${prefix}`)
                const between = await configs.until(`sentinel-${prefix}`)
                expect(configsOf(between, prefix, `kitchen-${prefix}`)).toEqual([]) // not a second time
                expect(lines.join("").match(/Home Assistant \(re\)started/g)).toHaveLength(1)
                // Home Assistant is not a device
                expect(server!.controller.device("homeassistant")).toBeUndefined()
            }
        )

    test.skipIf(b.skip)(
        "--ha-birth-topic: the birth message is taken there, and that topic is not a device",
        async () => {
            await start({ birthTopic: "hass/status" })
            const ha = await client()
            const device = await client()
            const configs = await watch(ha, "homeassistant")
            device.publish("kitchen-2/telemetry", JSON.stringify({ light: 120 }))
            await configs.until("kitchen-2")

            ha.publish("homeassistant/status", "online") // not the birth topic any more: nothing
            ha.publish("hass/status", "online")
            const between = await configs.until("kitchen-2")
            sentinel(ha, "sentinel-2")
            const seen = [...between, ...(await configs.until("sentinel-2"))]
            expect(configsOf(seen, "homeassistant", "kitchen-2")).toEqual([])
            expect(lines.join("").match(/Home Assistant \(re\)started/g)).toHaveLength(1)
            expect(server!.controller.device("hass")).toBeUndefined()
            expect(lines.join("")).not.toContain("announced hass to Home Assistant")
        }
    )

    test.skipIf(b.skip)(
        "a device deleted in Home Assistant stays deleted (readings, births, a restart) until the API brings it back",
        async () => {
            await start()
            let ha = await client()
            let device = await client()
            let configs = await watch(ha, "homeassistant")
            device.publish("kitchen-3/telemetry", JSON.stringify({ light: 120 }))
            await configs.until("kitchen-3")

            // What Home Assistant does on "Delete" in the device's page
            const where = configTopics("homeassistant", "kitchen-3")
            for (const topic of [where.sensor, where.light]) ha.publish(topic, "", { retain: true, qos: 1 })
            await until("the deletion to be noticed", () =>
                lines.join("").includes("kitchen-3 was deleted in Home Assistant")
            )
            expect(lines.join("")).toContain(
                "kitchen-3 was deleted in Home Assistant: not announced again until brought back " +
                    "(dashboard, or PUT /api/home-assistant/devices/kitchen-3)"
            )
            ha.publish("kitchen-3/telemetry", JSON.stringify({ light: 900 })) // (from ha: in order with the rest)
            ha.publish("homeassistant/status", "online")
            sentinel(ha, "sentinel-3")
            const between = await configs.until("sentinel-3")
            expect(configsOf(between, "homeassistant", "kitchen-3")).toEqual([])
            expect((await api<HomeAssistantView>("/api/home-assistant")).body.removed).toEqual(["kitchen-3"])

            // After a restart the server still knows kitchen, and still leaves it out.
            await Promise.all(clients.splice(0).map(c => closeClient(c)))
            await server!.stop()
            await start()
            ha = await client()
            device = await client()
            const kept = await Inbox.open(ha, "homeassistant/+/+/config")
            sentinel(ha, "sentinel-4")
            const afterRestart: string[] = []
            while (!afterRestart.includes(configTopics("homeassistant", "sentinel-4").light))
                afterRestart.push((await kept.next()).topic)
            expect(afterRestart.filter(t => t === where.sensor || t === where.light)).toEqual([])
            expect((await api("/api/devices/kitchen-3")).status).toBe(200) // the server knows it

            // A person brings it back.
            configs = await watch(ha, "homeassistant")
            const back = await api<HomeAssistantView>("/api/home-assistant/devices/kitchen-3", "PUT")
            expect(back).toEqual({ status: 200, body: expect.objectContaining({ removed: [] }) })
            await configs.until("kitchen-3")
            expect(await api("/api/home-assistant/devices/nobody", "PUT")).toEqual({
                status: 404,
                body: { error: 'no device "nobody"', field: "id" },
            })
            // and removes it again: what Home Assistant's "Delete" does, from the API
            const removed = await api<HomeAssistantView>("/api/home-assistant/devices/kitchen-3", "DELETE")
            expect(removed.body.removed).toEqual(["kitchen-3"])
            sentinel(ha, "sentinel-5")
            const cleared = (await configs.until("sentinel-5")).filter(m => m.topic === where.light)
            expect(cleared.map(m => m.payload)).toEqual([""])
        }
    )

    test.skipIf(b.skip)("without --ha-discovery the API says discovery is off", async () => {
        await start({ enabled: false })
        expect(await api("/api/home-assistant")).toEqual({
            status: 200,
            body: { enabled: false, prefix: null, birthTopic: null, removed: [] },
        })
        expect(await api("/api/home-assistant/devices/kitchen-3", "PUT")).toEqual({
            status: 404,
            body: { error: "Home Assistant discovery is off (start the server with --ha-discovery)" },
        })
    })
})
