/** What the page bench's watcher in the dashboard (page/page-watch.ts) is told, and what it records. */

export interface WatchConfig {
    /** devices the fleet has: the count the page must show */
    devices: number
    /** the probe device's id (it sorts first) */
    probe: string
}

export interface WatchState {
    /** ms from navigation start when the document first held the fleet's size and a device; null until then */
    usefulDomAt: number | null
    /** ms from navigation start once that frame was rendered (a task posted then has run); null until then */
    usefulAt: number | null
    /** each light value the probe showed, when it changed to it (ms, wall clock: timeOrigin + now) */
    shown: { value: number; at: number }[]
}
