/**
 * DeviceConfigs (server/controller/device-config.ts) over a bus that records what it is asked to publish
 * or fails like a broker out of reach: which version a start takes, who gets a config and when, and what
 * a failure or a device's refusal leaves in the log and counters. Saved in a real database, in memory;
 * a saved value given to setup() is written as the server before the rows wrote it. The real
 * brokers: test/whole-server/device-config.test.ts.
 */
import { afterEach, describe, expect, test, vi } from "vitest"
import { DeviceConfigs, type DeviceConfigStore } from "../../../server/controller/device-config"
import { ACK_INTERVAL_MS, ACK_MAX_INTERVAL_MS } from "../../../server/controller/ack-sender"
import { ackIntervalFor } from "../../../server/controller/config-overrides"
import type { MessageBus, PublishOptions } from "../../../server/mqtt/message-bus"
import { DEFAULT_DEVICE_CONFIG, type DeviceConfigPayload } from "../../../server/protocol/contract"
import { realTimers, type Timers } from "../../../server/util/clock"
import { DEVICE_CONFIG_KEY, DeviceConfigRows, SavedSettings, openDatabase } from "../../../server/store"
import { recordingLogger } from "../../helpers/mqtt"

const NOW = 1_764_950_000_000
const timers: Timers = { ...realTimers, now: () => NOW }

class RecordingBus implements MessageBus {
    readonly published: { topic: string; payload: string; options?: PublishOptions }[] = []
    failure?: Error
    async start(): Promise<void> {}
    async stop(): Promise<void> {}
    async subscribe(): Promise<void> {}
    async publish(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<void> {
        if (this.failure) throw this.failure
        this.published.push({ topic, payload: payload.toString(), options })
    }
}

/** porch and hall in group "stairs"; attic alone. */
const groups = {
    groupOf: (id: string) => (id === "porch" || id === "hall" ? "stairs" : undefined),
    members: (name: string) => (name === "stairs" ? ["porch", "hall"] : []),
}

function setup(saved?: unknown, values = DEFAULT_DEVICE_CONFIG, membership = groups) {
    const bus = new RecordingBus()
    const { logger, lines } = recordingLogger("info")
    const db = openDatabase(":memory:")
    const settings = new SavedSettings(db)
    if (saved !== undefined) settings.set(DEVICE_CONFIG_KEY, saved)
    const rows = new DeviceConfigRows(db, settings)
    const store = {
        saves: 0,
        /** Everything saved, as one value, read back from the database. */
        get value(): unknown {
            return new DeviceConfigRows(db, settings).load()
        },
    }
    const configStore: DeviceConfigStore = {
        load: () => rows.load(),
        save: changes => {
            rows.save(changes)
            store.saves++
        },
    }
    const counters = { configsSent: 0, configsFailed: 0 }
    const configs = new DeviceConfigs({
        bus,
        log: logger,
        timers,
        values,
        store: configStore,
        groups: membership,
        counters,
    })
    return { bus, lines, store, counters, configs }
}

const settle = () => new Promise(resolve => setImmediate(resolve))

describe("the version a start takes", () => {
    test("the saved one while the values are the same; else a new one, never below the clock in seconds", () => {
        const saved: DeviceConfigPayload = { version: 2_000_000_000, ...DEFAULT_DEVICE_CONFIG }
        const same = setup(saved)
        expect(same.configs.current()).toEqual(saved)
        expect(same.store.saves).toBe(0)

        const changed = setup(saved, { ...DEFAULT_DEVICE_CONFIG, threshold: 250 })
        expect(changed.configs.current()).toEqual({ ...saved, version: 2_000_000_001, threshold: 250 })
        expect(changed.store.saves).toBe(1)

        const first = setup(undefined)
        expect(first.configs.current().version).toBe(NOW / 1000)
    })

    test("a saved value that is not a config (a hand-edited database) is replaced", () => {
        for (const junk of ["x", null, { version: 7, threshold: 5000 }, { ...DEFAULT_DEVICE_CONFIG }]) {
            const { configs, store } = setup(junk)
            expect(configs.current()).toEqual({ version: NOW / 1000, ...DEFAULT_DEVICE_CONFIG })
            expect(store.saves).toBe(1)
        }
    })
})

describe("who gets a config", () => {
    test("nobody before the bus is up; then every known device once, and each new one at once", async () => {
        const { bus, configs, counters } = setup()
        configs.remember(["porch", "hall"])
        configs.added("porch") // known already: no second copy
        configs.added("kitchen")
        expect(bus.published).toEqual([])
        configs.publishAll()
        configs.added("attic")
        configs.added("attic")
        await settle()
        expect(bus.published.map(p => p.topic)).toEqual([
            "porch/config",
            "hall/config",
            "kitchen/config",
            "attic/config",
        ])
        for (const p of bus.published) {
            expect(p.options).toEqual({ qos: 1, retain: true })
            expect(JSON.parse(p.payload)).toEqual(configs.current())
        }
        expect(counters).toEqual({ configsSent: 4, configsFailed: 0 })
    })

    test("a change is a new version, saved and sent to all; the same values again are nothing", async () => {
        const { bus, configs, store } = setup()
        configs.remember(["porch", "hall"])
        configs.publishAll()
        const before = configs.current()
        expect(configs.change({ ...DEFAULT_DEVICE_CONFIG })).toBe(false)
        expect(configs.change({ ...DEFAULT_DEVICE_CONFIG, reportMs: 500 })).toBe(true)
        await settle()
        const after = configs.current()
        expect(after).toEqual({ ...before, version: before.version + 1, reportMs: 500 })
        expect(store.value).toEqual(after)
        expect(bus.published.slice(2).map(p => [p.topic, JSON.parse(p.payload)])).toEqual([
            ["porch/config", after],
            ["hall/config", after],
        ])
    })

    test("a broker out of reach: every failure counted, one line for all of them", async () => {
        const { bus, configs, counters, lines } = setup()
        configs.remember(Array.from({ length: 50 }, (_, i) => `pole-${i}`))
        bus.failure = new Error("not connected to MQTT broker")
        configs.publishAll()
        await settle()
        await settle()
        expect(counters).toEqual({ configsSent: 0, configsFailed: 50 })
        const warnings = lines.filter(l => l.includes("could not send the config"))
        expect(warnings).toHaveLength(1)
        expect(warnings[0]).toContain("to 50 of 50 devices: not connected to MQTT broker")
    })
})

describe("what the devices say", () => {
    test("the version each runs; a refusal is logged when it is new, not with every reading", () => {
        const { configs, lines } = setup()
        expect(configs.versionOf("porch")).toBeNull()
        configs.reported("porch", 7, undefined)
        configs.reported("lesson", undefined, undefined)
        expect(configs.versionOf("porch")).toBe(7)
        expect(configs.versionOf("lesson")).toBeNull()
        for (let i = 0; i < 3; i++) configs.reported("porch", 7, '8: "band" is missing')
        configs.reported("porch", 7, '9: "band" is missing')
        expect(configs.errorOf("porch")).toBe('9: "band" is missing')
        expect(lines.filter(l => l.includes("porch refused its config"))).toHaveLength(2)
        configs.reported("porch", 9, undefined)
        expect(configs.errorOf("porch")).toBeNull()
    })
})

describe("how often a device is acknowledged", () => {
    test("as its localAfterMs allows, up to ACK_MAX_INTERVAL_MS; every second while it runs values of its own", () => {
        const { configs } = setup(undefined, { ...DEFAULT_DEVICE_CONFIG, localAfterMs: 10_000 })
        const sent = configs.sentVersion("attic")
        // never says which config it runs (the bench's fleet, a device before its first config): the one sent
        expect(configs.ackInterval("attic")).toBe(ACK_MAX_INTERVAL_MS)
        configs.reported("attic", sent, undefined)
        expect(configs.ackInterval("attic")).toBe(ACK_MAX_INTERVAL_MS)
        // another version (one not applied yet), or a refusal: its own values, which the server cannot know
        configs.reported("attic", sent - 1, undefined)
        expect(configs.ackInterval("attic")).toBe(ACK_INTERVAL_MS)
        configs.reported("attic", sent, `${sent + 1}: "band" is missing`)
        expect(configs.ackInterval("attic")).toBe(ACK_INTERVAL_MS)
        configs.reported("attic", sent, undefined)
        // a tight silence timeout: acks close enough that the device never decides by itself
        configs.setDeviceOverride("attic", { reportMs: 1000, localAfterMs: 3000 })
        configs.reported("attic", configs.sentVersion("attic"), undefined)
        expect(configs.ackInterval("attic")).toBe(2000)
        configs.setDeviceOverride("attic", { reportMs: 1000, localAfterMs: 2000 })
        configs.reported("attic", configs.sentVersion("attic"), undefined)
        expect(configs.ackInterval("attic")).toBe(ACK_INTERVAL_MS)
    })

    test("the interval leaves every valid config the margin it had: acks never further apart than localAfterMs - 1 s", () => {
        for (const localAfterMs of [2000, 2500, 4999, 5000, 5001, 10_000, 3_600_000]) {
            const interval = ackIntervalFor(localAfterMs)
            expect(interval).toBeGreaterThanOrEqual(ACK_INTERVAL_MS)
            expect(interval).toBeLessThanOrEqual(ACK_MAX_INTERVAL_MS)
            expect(interval).toBeLessThanOrEqual(localAfterMs - ACK_INTERVAL_MS)
        }
    })
})

describe("a device flipping its refusal", () => {
    afterEach(() => vi.useRealTimers())

    test("cannot flood the log: ten lines a minute per device, then one summary", () => {
        vi.useFakeTimers({ now: NOW })
        const { logger, lines } = recordingLogger("info")
        const configs = new DeviceConfigs({
            bus: new RecordingBus(),
            log: logger,
            timers: { ...realTimers, now: () => Date.now() },
            values: DEFAULT_DEVICE_CONFIG,
            counters: { configsSent: 0, configsFailed: 0 },
        })
        // a reading every 10 ms for 30 s, each with another reason: every one is "new"
        for (let i = 0; i < 3000; i++) {
            configs.reported("porch", 7, `${i}: "band" is missing`)
            configs.reported("hall", 7, i % 2 ? "x" : "y")
            vi.advanceTimersByTime(10)
        }
        const refused = (id: string) => lines.filter(l => l.includes(`${id} refused its config`))
        expect(refused("porch")).toHaveLength(10)
        expect(refused("hall")).toHaveLength(10)
        expect(configs.errorOf("porch")).toBe('2999: "band" is missing')
        vi.advanceTimersByTime(60_000)
        expect(lines.filter(l => l.includes("suppressed 2990 similar lines in the last 60 s"))).toHaveLength(2)
    })
})

describe("a group's and a device's own values", () => {
    const published = (bus: RecordingBus) => bus.published.map(p => [p.topic, JSON.parse(p.payload).version])

    test("the narrower wins field by field; a change goes, with one new version, to those it changes", async () => {
        const { bus, configs, store } = setup()
        configs.remember(["porch", "hall", "attic"])
        configs.publishAll()
        const fleet = configs.current().version
        expect(configs.setGroupOverride("stairs", { threshold: 500, band: 50 })).toBe(true)
        expect(configs.setDeviceOverride("porch", { threshold: 450, reportMs: 1000 })).toBe(true)
        // the same values again: saved, but nobody's config changes
        expect(configs.setDeviceOverride("hall", { band: 50 })).toBe(false)
        await settle()
        expect(configs.configFor("porch")).toEqual({
            ...DEFAULT_DEVICE_CONFIG,
            version: fleet + 2,
            threshold: 450,
            band: 50,
            reportMs: 1000,
        })
        expect(configs.sources("porch")).toMatchObject({ threshold: "device", band: "group", minChange: "fleet" })
        expect(configs.configFor("attic")).toEqual({ ...DEFAULT_DEVICE_CONFIG, version: fleet })
        expect(published(bus).slice(3)).toEqual([
            ["porch/config", fleet + 1],
            ["hall/config", fleet + 1],
            ["porch/config", fleet + 2],
        ])
        expect(store.value).toMatchObject({
            version: fleet,
            latest: fleet + 2,
            versions: { porch: fleet + 2, hall: fleet + 1 },
            groups: { stairs: { threshold: 500, band: 50 } },
            devices: { porch: { threshold: 450, reportMs: 1000 }, hall: { band: 50 } },
        })

        // a fleet threshold: only attic's config changes; porch and hall keep theirs and their versions
        configs.change({ ...DEFAULT_DEVICE_CONFIG, threshold: 250 })
        await settle()
        expect(published(bus).slice(6)).toEqual([["attic/config", fleet + 3]])
        expect(["porch", "hall", "attic"].map(id => configs.sentVersion(id))).toEqual([fleet + 2, fleet + 1, fleet + 3])
    })

    test("a restart keeps them; entries that are not values (a hand-edited database) are left out", () => {
        const first = setup()
        first.configs.remember(["porch", "hall"])
        first.configs.setGroupOverride("stairs", { minChange: 5 })
        first.configs.setDeviceOverride("porch", { threshold: 450 })
        const saved = first.store.value as Record<string, Record<string, unknown>>
        saved.devices.hall = { threshold: 99_999 }
        saved.devices.attic = { colour: 1 }
        saved.versions.attic = "x"
        const again = setup(saved)
        expect(again.store.saves).toBe(0)
        for (const id of ["porch", "hall", "attic"])
            expect(again.configs.configFor(id)).toEqual(first.configs.configFor(id))
        expect(again.configs.deviceOverride("hall")).toEqual({})
        expect(again.configs.deviceOverride("attic")).toEqual({})

        // a new --threshold at start: a version above every one given, for every device, overrides kept
        const changed = setup(saved, { ...DEFAULT_DEVICE_CONFIG, threshold: 280 })
        const latest = first.configs.sentVersion("porch")
        expect(changed.configs.current().version).toBe(latest + 1)
        expect(changed.configs.configFor("porch")).toMatchObject({ version: latest + 1, threshold: 450, minChange: 5 })
        expect(changed.configs.configFor("attic")).toMatchObject({ version: latest + 1, threshold: 280 })
    })

    test("a device that joined or left a group with values of its own (groups file edited) gets a new version", () => {
        const first = setup()
        first.configs.remember(["porch", "hall", "attic"])
        first.configs.setGroupOverride("stairs", { threshold: 500 })
        const porch = first.configs.configFor("porch")
        const latest = porch.version
        // hall left the stairs, attic joined them
        const edited = {
            groupOf: (id: string) => (id === "porch" || id === "attic" ? "stairs" : undefined),
            members: (name: string) => (name === "stairs" ? ["porch", "attic"] : []),
        }
        const again = setup(first.store.value, DEFAULT_DEVICE_CONFIG, edited)
        expect(again.configs.configFor("porch")).toEqual(porch)
        expect(again.configs.configFor("hall")).toEqual({ ...DEFAULT_DEVICE_CONFIG, version: latest + 1 })
        expect(again.configs.configFor("attic")).toEqual({
            ...DEFAULT_DEVICE_CONFIG,
            version: latest + 1,
            threshold: 500,
        })
        // saved with the new members: the next start moves nobody
        const third = setup(again.store.value, DEFAULT_DEVICE_CONFIG, edited)
        expect(third.store.saves).toBe(0)
        expect(third.configs.configFor("attic").version).toBe(latest + 1)
    })
})
