/**
 * The table's data: the devices matching the filters, sorted by the server, fetched one window at a
 * time (WINDOW rows around the rows on screen) from `GET /api/devices`. Only the last window is kept,
 * so memory does not grow with the fleet. A fetch waits for scrolling to settle, at most one is in
 * flight, and the newest wish wins; the window on screen is fetched again when the fleet's counts
 * change (each summary), and the rows of watched devices follow their live "device" events meanwhile.
 */
import type { DeviceQuery, DeviceView } from "../server/http/api-types"
import { getDevicePage } from "./api"

export type RowsQuery = Omit<DeviceQuery, "offset" | "limit">

/** Rows per request: a few screens, so a short scroll needs none. */
export const WINDOW = 200
const SCROLL_SETTLE_MS = 120
const REFRESH_DEBOUNCE_MS = 250
/** After a failed request (the server busy or away). */
const RETRY_MS = 2000

export class DeviceRows {
    /** How many devices match; null until the first answer for this query. */
    total: number | null = null
    /** Why the last request failed; undefined when it did not. */
    error?: string
    private query: RowsQuery = { sort: "id", order: "asc" }
    private offset = 0
    private rows: DeviceView[] = []
    private readonly indexById = new Map<string, number>()
    private visible = { first: 0, last: 0 }
    private generation = 0
    private timer?: number
    private inFlight = false
    /** A fetch was asked for while one was out. */
    private again = false

    constructor(private readonly changed: () => void) {}

    /** New filters or order: everything known is for the old ones. */
    setQuery(query: RowsQuery): void {
        this.query = query
        this.generation++
        this.total = null
        this.rows = []
        this.indexById.clear()
        this.offset = 0
        this.visible = { first: 0, last: 0 }
        this.schedule(0)
    }

    /** The rows on screen now (first to last, inclusive); fetches their window when some are missing. */
    show(first: number, last: number): void {
        this.visible = { first, last }
        if (this.total === null || this.covers(first, Math.min(last, this.total - 1))) return
        this.schedule(SCROLL_SETTLE_MS)
    }

    /** The counts changed: rows may have moved, come or gone. */
    refresh(): void {
        this.schedule(REFRESH_DEBOUNCE_MS)
    }

    row(index: number): DeviceView | undefined {
        return this.rows[index - this.offset]
    }

    /** A live view of a device: replaces its row where it is (the order is the server's, from the last fetch). */
    update(device: DeviceView): boolean {
        const index = this.indexById.get(device.id)
        if (index === undefined) return false
        this.rows[index - this.offset] = device
        return true
    }

    private covers(first: number, last: number): boolean {
        return first >= this.offset && last < this.offset + this.rows.length
    }

    private schedule(delayMs: number): void {
        window.clearTimeout(this.timer)
        this.timer = window.setTimeout(() => {
            this.timer = undefined
            void this.fetch()
        }, delayMs)
    }

    private async fetch(): Promise<void> {
        if (this.inFlight) {
            this.again = true
            return
        }
        this.inFlight = true
        const generation = this.generation
        const { first, last } = this.visible
        // The window is centred on the rows on screen.
        const offset = Math.max(0, Math.floor((first + last) / 2) - WINDOW / 2)
        let failed = false
        try {
            const page = await getDevicePage({ ...this.query, offset, limit: WINDOW })
            if (generation === this.generation) {
                this.error = undefined
                this.total = page.total
                this.offset = offset
                this.rows = page.devices
                this.indexById.clear()
                page.devices.forEach((device, i) => this.indexById.set(device.id, offset + i))
            }
        } catch (error) {
            this.error = (error as Error).message
            failed = true
        } finally {
            this.inFlight = false
        }
        this.changed()
        if (failed) this.schedule(RETRY_MS)
        else if (this.again || generation !== this.generation) {
            this.again = false
            this.schedule(0)
        } else if (this.total !== null && this.total > 0) {
            // Scrolled on while the answer was out: fetch the window now on screen.
            const end = Math.min(this.visible.last, this.total - 1)
            if (!this.covers(this.visible.first, end)) this.schedule(SCROLL_SETTLE_MS)
        }
    }
}
