/**
 * The page's place in the URL's hash (web/route.ts, pure): what a typed or old link opens, and that
 * what the page writes reads back the same. The views that follow the route are checked in a browser
 * (test/interop/fleet-dashboard.test.ts).
 */
import { expect, test } from "vitest"
import { DEFAULT_FLEET, deviceHref, formatRoute, parseRoute, type Route } from "../../web/route"

test("an empty hash, #/ and anything not understood are the fleet with its defaults", () => {
    for (const hash of ["", "#", "#/", "#/nowhere", "#/?sort=colour&order=up&state=asleep"])
        expect(parseRoute(hash), hash).toEqual({ ...DEFAULT_FLEET, state: undefined })
})

test("the fleet's filter and order read back as written, defaults left out of the URL", () => {
    const routes: Route[] = [
        { kind: "fleet", sort: "light", order: "desc", state: "offline", q: "ha" },
        { kind: "fleet", sort: "lastSeen", order: "asc", state: undefined, q: "" },
        { kind: "fleet", sort: "id", order: "asc", state: "led_disagrees", q: "a b&c=d" },
    ]
    for (const route of routes) expect(parseRoute(formatRoute(route))).toEqual(route)
    expect(formatRoute({ ...DEFAULT_FLEET })).toBe("#/")
    expect(formatRoute(routes[0]!)).toBe("#/?state=offline&sort=light&order=desc&q=ha")
})

test("a device's page keeps any valid id whole, however odd", () => {
    for (const id of ["porch", "a..b", ".hidden", ":", "-", "_", "lamp/1", "x?y#z", "ünï"]) {
        expect(parseRoute(deviceHref(id)), id).toEqual({ kind: "device", id })
        expect(deviceHref(id).slice("#/device/".length)).not.toMatch(/[/?#]/)
    }
    // a hand-typed id without its escapes, and an empty one (the fleet)
    expect(parseRoute("#/device/100%")).toEqual({ kind: "device", id: "100%" })
    expect(parseRoute("#/device/").kind).toBe("fleet")
})
