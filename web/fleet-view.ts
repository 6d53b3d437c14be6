/**
 * The fleet page (`#/`): the overview, then the cards of a small fleet (up to CARDS_MAX devices when the
 * page loads, today's experience) or the table of a big one. The filter box and the overview's state
 * buttons change the route, so the URL keeps them (reload and back work).
 */
import type { DeviceStateName, LiveEvent } from "../server/http/api-types"
import { DeviceList } from "./device-list"
import { DeviceTable } from "./device-table"
import { byTestId } from "./dom"
import { FleetOverview } from "./fleet-overview"
import type { FleetRoute } from "./route"
import type { Store } from "./store"
import type { Watch } from "./watch"

/** Up to this many devices at load the page shows cards; past it (then or later) the table. */
export const CARDS_MAX = 24
/** Typing in the filter box changes the route (and the table's query) this long after the last key. */
const FILTER_DEBOUNCE_MS = 200

export class FleetView {
    private readonly section: HTMLElement
    private readonly filter: HTMLInputElement
    private readonly overview: FleetOverview
    private readonly list: DeviceList
    private readonly table: DeviceTable
    private mode?: "cards" | "table"
    private route?: FleetRoute
    private shown = false
    private filterTimer?: number

    constructor(
        root: ParentNode,
        store: Store,
        watch: Watch,
        private readonly navigate: (route: FleetRoute, replace?: boolean) => void
    ) {
        this.section = byTestId(root, "fleet-view")
        this.filter = byTestId<HTMLInputElement>(root, "device-filter")
        this.overview = new FleetOverview(root, store, state => this.filterByState(state))
        this.list = new DeviceList(root, store, watch)
        this.table = new DeviceTable(root, store, watch, route => this.navigate(route))
        this.filter.addEventListener("input", () => {
            window.clearTimeout(this.filterTimer)
            this.filterTimer = window.setTimeout(() => {
                if (this.route) this.navigate({ ...this.route, q: this.filter.value.trim() }, true)
            }, FILTER_DEBOUNCE_MS)
        })
        store.listen(event => this.apply(event, store))
    }

    /** Shows the fleet with this route's filter and order, or hides it (undefined: a device page). */
    show(route: FleetRoute | undefined): void {
        this.shown = route !== undefined
        this.section.hidden = !this.shown
        if (route) {
            this.route = route
            if (document.activeElement !== this.filter) this.filter.value = route.q
            this.overview.setActive(route.state)
            this.list.setRoute(route)
            this.table.setRoute(route)
        }
        this.activate()
    }

    private apply(event: LiveEvent, store: Store): void {
        if (event.type !== "hello" && event.type !== "summary") return
        // A server without the fleet view sends every device in its hello.
        const devices = store.summary?.devices ?? store.devices.size
        if (this.mode === undefined) this.mode = devices <= CARDS_MAX ? "cards" : "table"
        else if (this.mode === "cards" && devices > CARDS_MAX) this.mode = "table"
        this.activate()
    }

    private activate(): void {
        if (this.mode === undefined) return // until the first hello says how big the fleet is
        this.list.setActive(this.shown && this.mode === "cards")
        this.table.setActive(this.shown && this.mode === "table")
    }

    private filterByState(state: DeviceStateName | undefined): void {
        if (this.route) this.navigate({ ...this.route, state })
    }
}
