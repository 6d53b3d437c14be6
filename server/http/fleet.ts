/**
 * The fleet's overview for the API: which states a device is in (api-types.ts DEVICE_STATES defines
 * them), the counts by state, and one filtered, sorted page of devices. Pure, over the registry's own
 * records (no view made for a device that is not on the page).
 */
import { DEVICE_STATES, type DeviceQuery, type DeviceSort, type DeviceStateName } from "./api-types"

/** Paging and staleness defaults of the fleet routes. */
export const FLEET = {
    /** Devices per page when `limit` is not given, and the most one page holds. */
    limitDefault: 100,
    limitMax: 1000,
    /** ms: a device not heard from for longer is "stale" (30 readings of the firmware's 2 s). */
    staleAfterMs: 60_000,
}

/** What the states and sorts read of a device: the registry's DeviceRecord has these fields. */
export interface FleetFacts {
    id: string
    online: boolean | null
    lastSeen: number
    light: number | null
    ledOn: boolean | null
    reportedLed: boolean | null
    /** true while the device decides by itself. */
    local: boolean | null
}

/** What the server knows of a device beside its record (the controller's): the states need these too. */
export interface DeviceFlags {
    /** The server counted readings of this device as lost (gaps, or discarded by the device). */
    readingsLost(id: string): boolean
    /** It runs a config older than the server's, or refused the last one. */
    configOld(id: string): boolean
}

export function hasState(d: FleetFacts, state: DeviceStateName, now: number, flags: DeviceFlags): boolean {
    switch (state) {
        case "online":
            return d.online === true
        case "offline":
            return d.online === false
        case "no_status":
            return d.online === null
        case "led_on":
            return d.ledOn === true
        case "led_off":
            return d.ledOn === false
        case "local":
            return d.local === true
        case "stale":
            return now - d.lastSeen > FLEET.staleAfterMs
        case "readings_lost":
            return flags.readingsLost(d.id)
        case "config_old":
            return flags.configOld(d.id)
        case "led_disagrees":
            return d.ledOn !== null && d.reportedLed !== null && d.ledOn !== d.reportedLed
    }
}

export function countStates(
    devices: Iterable<FleetFacts>,
    now: number,
    flags: DeviceFlags
): { devices: number; counts: Record<DeviceStateName, number> } {
    const counts = Object.fromEntries(DEVICE_STATES.map(s => [s, 0])) as Record<DeviceStateName, number>
    let total = 0
    for (const d of devices) {
        total++
        for (const state of DEVICE_STATES) if (hasState(d, state, now, flags)) counts[state]++
    }
    return { devices: total, counts }
}

/** The devices matching the query's filters, sorted, and the page of them the query asks for. */
export function pageOf<T extends FleetFacts>(
    devices: Iterable<T>,
    query: DeviceQuery,
    now: number,
    flags: DeviceFlags
): { total: number; page: T[] } {
    const q = query.q?.toLowerCase()
    const matching: T[] = []
    for (const d of devices) {
        if (query.state !== undefined && !hasState(d, query.state, now, flags)) continue
        if (q !== undefined && !d.id.toLowerCase().includes(q)) continue
        matching.push(d)
    }
    const sign = query.order === "desc" ? -1 : 1
    const key = SORT_KEYS[query.sort]
    matching.sort((a, b) => lightLast(query.sort, a, b) || sign * (key(a, b) || compareIds(a, b)))
    return { total: matching.length, page: matching.slice(query.offset, query.offset + query.limit) }
}

/** The order of the unpaged list (DashboardBackend.devices sorts with localeCompare), reused. */
const idCollator = new Intl.Collator()

function compareIds(a: FleetFacts, b: FleetFacts): number {
    return idCollator.compare(a.id, b.id)
}

/** Sorted by light, devices without a reading come last in either order: there is nothing to compare. */
function lightLast(sort: DeviceSort, a: FleetFacts, b: FleetFacts): number {
    if (sort !== "light" || (a.light === null) === (b.light === null)) return 0
    return a.light === null ? 1 : -1
}

/** offline first: the devices that need a look. */
function stateRank(d: FleetFacts): number {
    return d.online === false ? 0 : d.online === null ? 1 : 2
}

const SORT_KEYS: Record<DeviceSort, (a: FleetFacts, b: FleetFacts) => number> = {
    id: () => 0,
    light: (a, b) => (a.light ?? 0) - (b.light ?? 0),
    lastSeen: (a, b) => a.lastSeen - b.lastSeen,
    state: (a, b) => stateRank(a) - stateRank(b),
}
