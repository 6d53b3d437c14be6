/**
 * The pure rules: who may publish and subscribe to what (server/auth/acl.ts), and when the embedded
 * broker may let clients in without a password (server/auth/exposure.ts).
 */
import { describe, expect, test } from "vitest"
import { canPublish, canRead, canSubscribe, filterCovers, type Principal } from "../../../server/auth/acl"
import { exposurePolicy, isLoopback } from "../../../server/auth/exposure"
import { configFilters, configTopics } from "../../../server/home-assistant/discovery"
import { topicMatches } from "../../../server/mqtt/message-bus"
import { filterUniverse, topicUniverse } from "../../helpers/acl-leaks"

const user = (username: string, role: "device" | "server" | "home-assistant" | "observer" | "admin"): Principal => ({
    kind: "user",
    username,
    role,
})
const porch = user("porch", "device")

describe("a device", () => {
    test("publishes its telemetry and status only, and reads its commands, acks and config only", () => {
        const universe = topicUniverse("porch", "kitchen")
        expect(universe.filter(t => canPublish(porch, t))).toEqual(["porch/telemetry", "porch/status"])
        expect(universe.filter(t => canRead(porch, t))).toEqual(["porch/commands", "porch/acks", "porch/config"])
    })

    test("subscribes to no wildcard, however close to its own topics", () => {
        const granted = filterUniverse("porch", "kitchen").filter(f => canSubscribe(porch, f))
        expect(granted).toEqual(["porch/commands", "porch/acks", "porch/config"])
        for (const filter of ["#", "+/commands", "+/config", "porch/#", "porch/+", "+/+", "$SYS/#", "porch/commands/#"])
            expect(canSubscribe(porch, filter)).toBe(false)
    })

    test("its rights follow the username, and names are compared exactly", () => {
        const kitchen = user("kitchen", "device")
        expect(canPublish(kitchen, "porch/telemetry")).toBe(false)
        expect(canPublish(user("porc", "device"), "porch/telemetry")).toBe(false)
        expect(canPublish(user("porch.", "device"), "porch/telemetry")).toBe(false)
    })
})

describe("the other roles", () => {
    test("the server: what the controller and Home Assistant discovery use, nothing more", () => {
        const server = user("nightlight-server", "server")
        for (const filter of [
            "+/telemetry",
            "+/status",
            "+/commands",
            "+/acks",
            "nightlight/+/set",
            "homeassistant/status",
        ])
            expect(canSubscribe(server, filter), filter).toBe(true)
        for (const topic of [
            "porch/commands",
            "porch/acks",
            "porch/config",
            "homeassistant/light/porch/config",
            "nightlight/porch/set",
        ])
            expect(canPublish(server, topic), topic).toBe(true)
        expect(canPublish(server, "porch/telemetry")).toBe(false)
        // it writes the devices' configs and never reads them back
        expect(canSubscribe(server, "+/config")).toBe(false)
        expect(canSubscribe(server, "#")).toBe(false)
        expect(canSubscribe(server, "$SYS/#")).toBe(false)
    })

    test("the discovery prefix follows the setting", () => {
        const server = user("nightlight-server", "server")
        expect(canPublish(server, "ha/light/porch/config", { haPrefix: "ha" })).toBe(true)
        expect(canPublish(server, "homeassistant/light/porch/config", { haPrefix: "ha" })).toBe(false)
    })

    test("Home Assistant: reads configs and state, switches lights, announces itself; commands nothing else", () => {
        const ha = user("homeassistant", "home-assistant")
        for (const filter of ["homeassistant/#", "porch/telemetry", "+/status", "porch/commands"])
            expect(canSubscribe(ha, filter), filter).toBe(true)
        expect(canPublish(ha, "nightlight/porch/set")).toBe(true)
        expect(canPublish(ha, "homeassistant/status")).toBe(true)
        expect(canPublish(ha, "porch/commands")).toBe(false)
        expect(canSubscribe(ha, "+/acks")).toBe(false)
    })

    test("Home Assistant may delete a device (an empty retained config on its topics), and nothing else there", () => {
        const ha = user("homeassistant", "home-assistant")
        for (const topic of Object.values(configTopics("homeassistant", "porch")))
            expect(canPublish(ha, topic), topic).toBe(true)
        for (const topic of ["homeassistant/switch/x/config", "homeassistant/sensor/x/state", "homeassistant/x"])
            expect(canPublish(ha, topic), topic).toBe(false)
        // and the server sees it, to leave the device out
        const server = user("nightlight-server", "server")
        for (const filter of configFilters("homeassistant")) expect(canSubscribe(server, filter), filter).toBe(true)
    })

    test("Home Assistant's birth topic is its own setting, not <prefix>/status", () => {
        const ha = user("homeassistant", "home-assistant")
        const server = user("nightlight-server", "server")
        expect(canPublish(ha, "homeassistant/status", { haPrefix: "ha" })).toBe(true)
        expect(canSubscribe(server, "homeassistant/status", { haPrefix: "ha" })).toBe(true)
        expect(canPublish(ha, "ha/status", { haPrefix: "ha" })).toBe(false)
        const custom = { haPrefix: "ha", haBirthTopic: "hass/birth" }
        expect(canPublish(ha, "hass/birth", custom)).toBe(true)
        expect(canSubscribe(server, "hass/birth", custom)).toBe(true)
        expect(canPublish(ha, "homeassistant/status", custom)).toBe(false)
    })

    test("an observer reads every topic but $SYS and publishes nothing; admin and anonymous do anything", () => {
        const observer = user("watcher", "observer")
        expect(canSubscribe(observer, "#")).toBe(true)
        expect(canSubscribe(observer, "$SYS/#")).toBe(false)
        expect(topicUniverse("porch", "kitchen").some(t => canPublish(observer, t))).toBe(false)
        for (const p of [user("root", "admin"), { kind: "anonymous" } as Principal]) {
            expect(canSubscribe(p, "#")).toBe(true)
            expect(canSubscribe(p, "$SYS/#")).toBe(true)
            expect(canPublish(p, "porch/commands")).toBe(true)
            expect(canPublish(p, "$SYS/broker/x")).toBe(false) // the broker's own, for everyone
        }
    })
})

describe("a pattern covers a filter when it matches every topic the filter can", () => {
    test.each([
        ["#", "a/b", true],
        ["#", "$SYS/x", false],
        ["+/telemetry", "+/telemetry", true],
        ["+/telemetry", "porch/telemetry", true],
        ["+/telemetry", "#", false],
        ["+/telemetry", "+/+", false],
        ["a/#", "a", true],
        ["a/#", "a/b/#", true],
        ["a/b/#", "a/#", false],
        ["a/b", "a/b/#", false],
        ["a/+", "a/#", false],
        ["$SYS/#", "$SYS/broker/x", true],
        ["+/x", "$SYS/x", false],
    ])("%s covers %s: %s", (pattern, filter, expected) => {
        expect(filterCovers(pattern, filter)).toBe(expected)
    })

    test("checked against matching on every topic of the universe", () => {
        const topics = topicUniverse("porch", "kitchen")
        const filters = filterUniverse("porch", "kitchen")
        for (const pattern of filters)
            for (const filter of filters)
                if (filterCovers(pattern, filter))
                    for (const topic of topics)
                        if (topicMatches(filter, topic))
                            expect(topicMatches(pattern, topic), `${pattern} ⊇ ${filter} ∋ ${topic}`).toBe(true)
    })
})

describe("exposure: open on loopback, locked once exposed", () => {
    test("loopback addresses", () => {
        for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"])
            expect(isLoopback(host)).toBe(true)
        for (const host of ["0.0.0.0", "::", "192.168.1.20", "nightlight.local", "128.0.0.1"])
            expect(isLoopback(host)).toBe(false)
    })

    test("loopback without users: anonymous, as before; users make everyone log in", () => {
        expect(exposurePolicy({ host: "127.0.0.1", users: 0, allowAnonymous: false })).toEqual({
            ok: true,
            anonymous: true,
            warnings: [],
        })
        expect(exposurePolicy({ host: "127.0.0.1", users: 2, allowAnonymous: false })).toEqual({
            ok: true,
            anonymous: false,
            warnings: [],
        })
    })

    test("exposed without users: refused, saying how to add users or opt out", () => {
        const decision = exposurePolicy({ host: "0.0.0.0", users: 0, allowAnonymous: false })
        expect(decision.ok).toBe(false)
        if (decision.ok) return
        expect(decision.error).toContain("0.0.0.0 (every network) with no users")
        expect(decision.error).toContain("npm run users -- add <name> --role device")
        expect(decision.error).toContain("--mqtt-allow-anonymous")
        // the TLS listener counts too
        expect(exposurePolicy({ host: "127.0.0.1", tlsHost: "::", users: 0, allowAnonymous: false }).ok).toBe(false)
    })

    test("exposed with the opt-out: allowed, loudly", () => {
        const decision = exposurePolicy({ host: "192.168.1.20", users: 0, allowAnonymous: true })
        expect(decision).toMatchObject({ ok: true, anonymous: true })
        if (!decision.ok) return
        expect(decision.warnings).toEqual([
            expect.stringMatching(/^!!! ANONYMOUS MQTT CLIENTS ALLOWED on 192\.168\.1\.20/),
        ])
    })

    test("exposed with users: logins; a plain listener off loopback gets a warning about passwords in clear", () => {
        const plain = exposurePolicy({ host: "0.0.0.0", users: 3, allowAnonymous: false })
        expect(plain).toMatchObject({ ok: true, anonymous: false })
        if (plain.ok)
            expect(plain.warnings).toEqual([expect.stringContaining("passwords cross the network unencrypted")])
        const tlsOnly = exposurePolicy({ host: "127.0.0.1", tlsHost: "0.0.0.0", users: 3, allowAnonymous: false })
        expect(tlsOnly).toEqual({ ok: true, anonymous: false, warnings: [] })
    })
})
