/**
 * The page's place, kept in the URL's hash so reload and the back button work: `#/` the fleet (with the
 * table's filter and sort, `#/?state=offline&sort=light&order=desc&q=ha`), `#/device/<id>` one device.
 * Pure: parse and format only (app.ts listens to hashchange).
 */
import { DEVICE_SORTS, DEVICE_STATES, type DeviceSort, type DeviceStateName } from "../server/http/api-types"

export interface FleetRoute {
    kind: "fleet"
    sort: DeviceSort
    order: "asc" | "desc"
    state?: DeviceStateName
    /** A part of the id; "" for none. */
    q: string
}

export type Route = FleetRoute | { kind: "device"; id: string }

export const DEFAULT_FLEET: FleetRoute = { kind: "fleet", sort: "id", order: "asc", q: "" }

const DEVICE_PREFIX = "#/device/"

/** Anything not understood is the fleet with its defaults: a hash is typed by people. */
export function parseRoute(hash: string): Route {
    if (hash.startsWith(DEVICE_PREFIX)) {
        const raw = hash.slice(DEVICE_PREFIX.length)
        let id: string
        try {
            id = decodeURIComponent(raw)
        } catch {
            id = raw
        }
        if (id !== "") return { kind: "device", id }
    }
    const query = hash.indexOf("?")
    const params = new URLSearchParams(query === -1 ? "" : hash.slice(query + 1))
    const sort = params.get("sort")
    const order = params.get("order")
    const state = params.get("state")
    return {
        kind: "fleet",
        sort: DEVICE_SORTS.includes(sort as DeviceSort) ? (sort as DeviceSort) : DEFAULT_FLEET.sort,
        order: order === "desc" ? "desc" : "asc",
        state: DEVICE_STATES.includes(state as DeviceStateName) ? (state as DeviceStateName) : undefined,
        q: params.get("q")?.trim() ?? "",
    }
}

/** The hash of a route; the fleet's defaults are left out, so the plain fleet is `#/`. */
export function formatRoute(route: Route): string {
    if (route.kind === "device") return DEVICE_PREFIX + encodeURIComponent(route.id)
    const params = new URLSearchParams()
    if (route.state) params.set("state", route.state)
    if (route.sort !== DEFAULT_FLEET.sort) params.set("sort", route.sort)
    if (route.order !== DEFAULT_FLEET.order) params.set("order", route.order)
    if (route.q !== "") params.set("q", route.q)
    const query = params.toString()
    return query === "" ? "#/" : `#/?${query}`
}

export function deviceHref(id: string): string {
    return formatRoute({ kind: "device", id })
}
