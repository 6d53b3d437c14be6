/**
 * Home Assistant discovery on the real server (controller + embedded aedes). A real mqtt.js client
 * plays Home Assistant: it reads the discovery configs, follows their state topics, switches the light
 * the way Home Assistant does, and sends Home Assistant's birth message. The configs' Jinja templates
 * are rendered by real Jinja2 (python3-jinja2) on the payloads that arrive on their topics. Without
 * Jinja2 that part warns and skips, except under CI, where it fails.
 */
import { execFile, spawnSync } from "node:child_process"
import { promisify } from "node:util"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { NightlightServer } from "../../../server/controller/nightlight-server"
import { EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { EmbeddedBus } from "../../../server/mqtt/embedded-bus"
import {
    HomeAssistantDiscovery,
    configTopics,
    discoveryConfigs,
    objectKey,
    parseSwitch,
    type DiscoveryHost,
} from "../../../server/home-assistant/discovery"
import { HOST, Inbox, closeClient, connectClient, recordingLogger, until, within } from "../../helpers/mqtt"

const { logger, lines } = recordingLogger("info")
let broker: EmbeddedBroker
let bus: EmbeddedBus
let controller: NightlightServer
let discovery: HomeAssistantDiscovery
/** Home Assistant. */
let ha: MqttClient
let device: MqttClient

/** The server's parts, started in the order server/app.ts starts them (discovery before the bus). */
beforeAll(async () => {
    broker = new EmbeddedBroker({ host: HOST, port: 0, logger })
    await broker.start()
    bus = new EmbeddedBus(broker, logger)
    controller = new NightlightServer({ bus, logger, threshold: 300 })
    discovery = new HomeAssistantDiscovery({ bus, host: controller, logger })
    await controller.start()
    await discovery.start()
    await bus.start()
    ha = await connectClient(broker.url)
    ha.setMaxListeners(50) // one per Inbox
    device = await connectClient(broker.url)
})

afterAll(async () => {
    await closeClient(ha)
    await closeClient(device)
    await discovery?.stop()
    await controller?.stop()
    await bus?.stop()
    await broker?.stop()
})

/** A discovery config parsed from the broker; the tests read its fields as Home Assistant would. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- nested JSON, checked by the expects
type Config = Record<string, any>

/** Subscribes Home Assistant to both config topics of `deviceId`; `next()` waits for the pair. */
async function watchConfigs(deviceId: string, client = ha) {
    const where = configTopics("homeassistant", deviceId)
    const sensor = await Inbox.open(client, where.sensor)
    const light = await Inbox.open(client, where.light)
    return {
        next: async () => {
            const [s, l] = await Promise.all([sensor.next(), light.next()])
            return { sensor: s, light: l }
        },
    }
}

async function nextConfigs(watch: Awaited<ReturnType<typeof watchConfigs>>) {
    const { sensor, light } = await watch.next()
    return { sensor: JSON.parse(sensor.payload) as Config, light: JSON.parse(light.payload) as Config }
}

/** The broker's retained messages under `filter` (the embedded broker's store), topic → payload. */
async function retained(filter: string): Promise<Map<string, string>> {
    type Store = { createRetainedStream(f: string): AsyncIterable<{ topic: string; payload: Buffer }> }
    const store = (broker.aedes as unknown as { persistence: Store }).persistence
    const found = new Map<string, string>()
    for await (const packet of store.createRetainedStream(filter)) found.set(packet.topic, packet.payload.toString())
    return found
}

/** Polls the retained store until `condition` holds; bounded. */
async function untilRetained(what: string, filter: string, condition: (kept: Map<string, string>) => boolean) {
    await within(
        5000,
        what,
        (async () => {
            while (!condition(await retained(filter))) await new Promise(r => setTimeout(r, 20))
        })()
    )
}

const reading = (id: string, light: number) => device.publish(`${id}/telemetry`, JSON.stringify({ light }))

describe("what Home Assistant is told", () => {
    test("a device's first reading announces a light-level sensor and a light, as one device", async () => {
        const watch = await watchConfigs("kitchen")
        reading("kitchen", 120)
        const { sensor, light } = await nextConfigs(watch)

        const device = {
            identifiers: ["nightlight_kitchen"],
            name: "Nightlight kitchen",
            model: "Nightlight",
            manufacturer: "IoT for Beginners",
        }
        const availability = [
            { topic: "kitchen/status", payload_available: "online", payload_not_available: "offline" },
            { topic: "kitchen/telemetry", value_template: expect.stringContaining("value_json.light") },
        ]
        expect(sensor).toMatchObject({
            name: "Light level",
            unique_id: "nightlight_kitchen_light",
            state_topic: "kitchen/telemetry",
            value_template: expect.stringContaining("value_json.light"),
            state_class: "measurement",
            expire_after: 60,
            device,
            availability,
            availability_mode: "latest",
            origin: { name: expect.any(String) },
        })
        // Relative units, not lux.
        expect(sensor).not.toHaveProperty("device_class")
        expect(sensor).not.toHaveProperty("unit_of_measurement")
        expect(light).toMatchObject({
            name: null,
            unique_id: "nightlight_kitchen_led",
            command_topic: "nightlight/kitchen/set",
            payload_on: "ON",
            payload_off: "OFF",
            state_topic: "kitchen/commands",
            state_value_template: expect.stringContaining("value_json.led_on"),
            optimistic: false,
            retain: false,
            device,
            availability,
        })
        // logged once the broker took both configs, which may be just after Home Assistant got them
        await until("the announcement to be logged", () =>
            lines.join("").includes("announced kitchen to Home Assistant")
        )
    })

    test("Home Assistant starting later still gets both configs (retained)", async () => {
        const late = await connectClient(broker.url)
        try {
            const { sensor, light } = await watchConfigs("kitchen", late).then(w => w.next())
            expect([sensor.retain, light.retain]).toEqual([true, true])
            expect(JSON.parse(sensor.payload)).toMatchObject({ unique_id: "nightlight_kitchen_light" })
            expect(JSON.parse(light.payload)).toMatchObject({ unique_id: "nightlight_kitchen_led" })
        } finally {
            await closeClient(late)
        }
    })

    test("Home Assistant's birth message brings the configs again", async () => {
        const watch = await watchConfigs("kitchen")
        await watch.next() // the retained pair, on subscribing
        ha.publish("homeassistant/status", "online")
        const again = await nextConfigs(watch)
        expect(again.sensor.unique_id).toBe("nightlight_kitchen_light")
        expect(again.light.unique_id).toBe("nightlight_kitchen_led")
        // The birth topic matches the devices' `+/status`, but Home Assistant is not a nightlight.
        await watchConfigs("kitchen").then(w => w.next()) // a few more turns for anything still queued
        const kept = [...(await retained("homeassistant/#")).keys()]
        expect(kept.filter(topic => topic.includes("nightlight_homeassistant"))).toEqual([])
    })
})

describe("switching the light from Home Assistant", () => {
    test("ON and OFF on the command topic switch the LED by hand; the light's state topic follows", async () => {
        const watch = await watchConfigs("hall")
        reading("hall", 900) // bright: LED off
        const { light } = await nextConfigs(watch)
        const state = await Inbox.open(ha, light.state_topic)
        expect(JSON.parse((await state.next()).payload)).toMatchObject({ led_on: false })

        ha.publish(light.command_topic, light.payload_on)
        expect(JSON.parse((await state.next()).payload)).toMatchObject({ led_on: true })
        ha.publish(light.command_topic, " off ") // any case, spaces around
        expect(JSON.parse((await state.next()).payload)).toMatchObject({ led_on: false })
        expect(lines.join("")).toContain("hall: LED switched on by hand")
    })

    test("a retained switch is applied once and then deleted, not applied again at every start", async () => {
        const watch = await watchConfigs("porch")
        reading("porch", 900)
        await watch.next()
        const commands = await Inbox.open(ha, "porch/commands")
        await commands.next() // the automatic "off"
        ha.publish("nightlight/porch/set", "ON", { retain: true })
        expect(JSON.parse((await commands.next()).payload)).toMatchObject({ led_on: true })
        await untilRetained("the retained switch to be deleted", "nightlight/#", kept => kept.size === 0)
    })

    test("garbage on the set topics is ignored with one warning per kind; switching still works", async () => {
        const watch = await watchConfigs("attic")
        reading("attic", 900)
        await watch.next()
        const commands = await Inbox.open(ha, "attic/commands")
        await commands.next() // the automatic "off"
        for (const junk of ["toggle", "1", Buffer.from([0xff, 0xfe, 0x00]), "O".repeat(5000), "toggle"])
            ha.publish("nightlight/attic/set", junk)
        ha.publish("nightlight/not an id/set", "ON")
        ha.publish("nightlight/never-seen/set", "ON")
        ha.publish("nightlight/attic/set", "ON")
        // Messages from one client are handled in order: the next command is the valid switch's.
        expect(JSON.parse((await commands.next()).payload)).toMatchObject({ led_on: true })
        expect(controller.device("never-seen")).toBeUndefined()
        const text = lines.join("")
        expect(text.match(/expected ON or OFF/g)).toHaveLength(1)
        expect(text).toContain('ignored a switch on "nightlight/not an id/set": not a device id')
        expect(text).toContain("ignored a switch for never-seen: the server has not heard of that device")
    })
})

describe("removing and stopping", () => {
    test("forget() removes a device from Home Assistant until restore(); readings do not bring it back", async () => {
        const watch = await watchConfigs("shed")
        reading("shed", 500)
        await watch.next()
        await discovery.forget("shed")
        const removed = await watch.next()
        expect([removed.sensor.payload, removed.light.payload]).toEqual(["", ""])
        const where = configTopics("homeassistant", "shed")
        const kept = await retained("homeassistant/#")
        expect(kept.has(where.sensor) || kept.has(where.light)).toBe(false)
        expect(discovery.view().removed).toContain("shed")
        expect(lines.join("")).toContain(
            "removed shed from Home Assistant (to bring it back: dashboard, or PUT /api/home-assistant/devices/shed)"
        )

        reading("shed", 500)
        await discovery.restore("shed")
        const back = await nextConfigs(watch)
        expect(back.sensor.unique_id).toBe("nightlight_shed_light")
        expect(discovery.view().removed).not.toContain("shed")
        expect(lines.join("")).toContain("shed is brought back to Home Assistant")
        await expect(discovery.forget("not/an id")).rejects.toThrow(/not a device id/)
        await expect(discovery.restore("not/an id")).rejects.toThrow(/not a device id/)
    })

    test("the devices deleted in Home Assistant are kept in the store given, and read back from it", async () => {
        let saved: unknown = ["kept-out", "not/an id"]
        const removedStore = { load: () => saved, save: (ids: string[]) => void (saved = ids) }
        const host = recordingHost(["kept-out", "shown"])
        const first = new HomeAssistantDiscovery({ bus, host, logger, prefix: "ha-keep", removedStore })
        expect(lines.join("")).toContain("ignored what is not a device id in the saved list")
        await first.start()
        const kept = [...(await retained("ha-keep/#")).keys()]
        expect(kept.sort()).toEqual(Object.values(configTopics("ha-keep", "shown")).sort())
        expect(lines.join("")).toContain("left out of Home Assistant, as deleted there: kept-out")

        // Home Assistant deletes "shown" (an empty retained config), from a client
        ha.publish(configTopics("ha-keep", "shown").light, "", { retain: true })
        await until("the deletion to be saved", () => JSON.stringify(saved) === '["kept-out","shown"]')
        await first.stop()
        const second = new HomeAssistantDiscovery({ bus, host, logger, prefix: "ha-keep", removedStore, maxDevices: 2 })
        expect(second.view()).toEqual({
            enabled: true,
            prefix: "ha-keep",
            birthTopic: "homeassistant/status",
            removed: ["kept-out", "shown"],
        })
        // at most maxDevices are kept: a third comes back at its next event, and says so
        await second.start()
        await second.forget("third")
        expect(second.view().removed).toEqual(["kept-out", "shown"])
        expect(lines.join("")).toContain(
            "third is removed from Home Assistant, but 2 devices are kept as removed already: it comes back at its next event"
        )
        await second.stop()
    })

    test("stop() leaves the configs on the broker and stops switching", async () => {
        const stopped = recordingHost(["cellar"])
        const running = recordingHost([])
        const a = new HomeAssistantDiscovery({ bus, host: stopped, logger, prefix: "ha-stop" })
        const b = new HomeAssistantDiscovery({ bus, host: running, logger, prefix: "ha-running" })
        await a.start() // announces the devices the host knows at start
        await b.start()
        await a.stop()
        ha.publish("nightlight/cellar/set", "ON")
        await until("the running instance to get the switch", () => running.switched.length === 1)
        expect(running.switched).toEqual([["cellar", true]])
        expect(stopped.switched).toEqual([])
        const kept = await retained("ha-stop/#")
        expect([...kept.keys()].sort()).toEqual(Object.values(configTopics("ha-stop", "cellar")).sort())
        await b.stop()
    })

    test("at most maxDevices devices are announced (any client can invent ids)", async () => {
        const host = recordingHost(["d1", "d2", "d3"])
        const capped = new HomeAssistantDiscovery({ bus, host, logger, prefix: "ha-cap", maxDevices: 2 })
        await capped.start()
        await capped.stop()
        const kept = [...(await retained("ha-cap/#")).keys()]
        expect(kept).toHaveLength(4)
        expect(kept.some(topic => topic.includes("d3"))).toBe(false)
        expect(lines.join("")).toContain("not announcing d3: 2 devices are announced already")
    })
})

/** A host that knows `ids`, emits nothing, and records the switches. */
function recordingHost(ids: string[]): DiscoveryHost & { switched: [string, boolean][] } {
    const switched: [string, boolean][] = []
    return {
        switched,
        deviceIds: () => ids,
        on: () => undefined,
        off: () => undefined,
        override: (id, ledOn) => (switched.push([id, ledOn]), ids.includes(id)),
    }
}

describe("pure parts", () => {
    test("device ids become valid, distinct object ids; plain ones stay as they are", () => {
        expect(objectKey("kitchen-2_a")).toBe("kitchen-2_a")
        for (const id of ["a.b", "a:b", "a_b"]) expect(objectKey(id)).toMatch(/^[A-Za-z0-9_-]+$/)
        expect(new Set(["a.b", "a:b", "a_b"].map(objectKey)).size).toBe(3)
        expect(configTopics("ha/x", "hall.1").light).toMatch(
            /^ha\/x\/light\/nightlight_hall_1_[0-9a-f]{8}_led\/config$/
        )
    })

    test("switch payloads: ON and OFF in any case, nothing else", () => {
        expect(["ON", "on", " On\n", "OFF", "off "].map(p => parseSwitch(p))).toEqual([true, true, true, false, false])
        for (const p of ["", "1", "true", "ONN", "O N", "on".padEnd(40)]) expect(parseSwitch(p)).toBeUndefined()
    })

    test("expireAfterS 0 leaves expire_after out; bad options are refused by name", () => {
        const { sensor } = discoveryConfigs("x", { prefix: "homeassistant", expireAfterS: 0 })
        expect(sensor.config).not.toHaveProperty("expire_after")
        const base = { bus, host: recordingHost([]), logger }
        for (const prefix of ["", "a/", "a/+/b", "#"])
            expect(() => new HomeAssistantDiscovery({ ...base, prefix })).toThrow(/Home Assistant prefix/)
        expect(() => new HomeAssistantDiscovery({ ...base, expireAfterS: -1 })).toThrow(/expireAfterS/)
        expect(() => new HomeAssistantDiscovery({ ...base, maxDevices: 0 })).toThrow(/maxDevices/)
    })
})

const HAVE_JINJA = spawnSync("python3", ["-c", "import jinja2"]).status === 0
if (!HAVE_JINJA && !process.env.CI)
    console.warn(
        "!!! test/server/home-assistant/discovery.test.ts: no python3 jinja2 (apt install python3-jinja2): templates not rendered"
    )

/** Renders Home Assistant MQTT templates the way it does: `value`, and `value_json` when the payload is JSON. */
async function renderTemplates(pairs: [template: string, payload: string][]): Promise<string[]> {
    const script = [
        "import json, sys",
        "from jinja2.sandbox import ImmutableSandboxedEnvironment",
        "env = ImmutableSandboxedEnvironment()",
        "out = []",
        "for template, payload in json.loads(sys.argv[1]):",
        "    values = {'value': payload}",
        "    try: values['value_json'] = json.loads(payload)",
        "    except ValueError: pass",
        "    out.append(env.from_string(template).render(**values))",
        "print(json.dumps(out))",
    ].join("\n")
    const { stdout } = await promisify(execFile)("python3", ["-c", script, JSON.stringify(pairs)], { timeout: 10_000 })
    return JSON.parse(stdout) as string[]
}

describe.skipIf(!HAVE_JINJA && !process.env.CI)("the templates, rendered by Jinja2 on what the topics carry", () => {
    test("sensor: the reading's light; light: ON/OFF from the command; availability: online", async () => {
        const watch = await watchConfigs("study")
        reading("study", 120) // dark: LED on
        const { sensor, light } = await nextConfigs(watch)
        await untilRetained("the LED command", "study/commands", kept => kept.size === 1)
        const readings = await Inbox.open(ha, sensor.state_topic)
        const command = await Inbox.open(ha, light.state_topic) // retained: what Home Assistant gets on start
        const status = await Inbox.open(ha, sensor.availability[0].topic)
        reading("study", 42.5)
        device.publish("study/status", "online", { retain: true })
        const [telemetry, cmd, online] = [await readings.next(), await command.next(), await status.next()]
        expect(cmd.retain).toBe(true)

        const rendered = await renderTemplates([
            [sensor.value_template, telemetry.payload],
            [light.state_value_template, cmd.payload],
            [light.state_value_template, JSON.stringify({ led_on: false, seq: 7 })],
            [sensor.availability[1].value_template, telemetry.payload],
            // Stray payloads render "", which Home Assistant ignores: no bogus value, state unchanged.
            [sensor.value_template, '{"light": 5000}'],
            [sensor.value_template, "not json"],
            [sensor.value_template, '{"light": true}'],
            [light.state_value_template, ""],
            [light.state_value_template, '{"led_on": "yes"}'],
            [sensor.availability[1].value_template, "garbage"],
        ])
        expect(rendered).toEqual(["42.5", "ON", "OFF", "online", "", "", "", "", "", ""])
        expect(online.payload).toBe(sensor.availability[0].payload_available)
    })
})
