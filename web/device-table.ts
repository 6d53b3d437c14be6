/**
 * The devices as a table for a big fleet: sortable (id, light, last seen, state) by the header's
 * buttons, filtered by the route (state, a part of the id), with each device's last light as a number
 * and a bar. Virtualised: rows have one fixed height, a spacer gives the scroll box the whole fleet's
 * height, and only the rows on screen (and a few either side) exist, reused as it scrolls, so the DOM
 * stays the same size at 100 or 10,000 devices. The devices on screen are watched: their rows follow
 * the live "device" events between fetches.
 */
import type { DeviceSort, DeviceView, LiveEvent } from "../server/http/api-types"
import { deciderText } from "./device-card"
import { DeviceRows, type RowsQuery } from "./device-rows"
import { ago, byTestId, el, oncePerFrame, setData, setText } from "./dom"
import { formatCount } from "./fleet-overview"
import { deviceHref, type FleetRoute } from "./route"
import type { Store } from "./store"
import type { Watch } from "./watch"

/** One row's height in CSS px: the spacer's height is rows × this, so it is set here, not in the CSS. */
export const ROW_HEIGHT_PX = 40
/** Rows made beyond the screen's edges, so a small scroll shows filled rows at once. */
const OVERSCAN = 6
/** The relative "last seen" times move on by themselves. */
const TICK_MS = 1000

interface Column {
    title: string
    sort?: DeviceSort
    /** The order a first click on this header gives: the brightest and the latest first. */
    firstOrder?: "asc" | "desc"
}

const COLUMNS: Column[] = [
    { title: "Device", sort: "id", firstOrder: "asc" },
    { title: "State", sort: "state", firstOrder: "asc" },
    { title: "Light", sort: "light", firstOrder: "desc" },
    { title: "LED" },
    { title: "Decided by" },
    { title: "Last seen", sort: "lastSeen", firstOrder: "desc" },
    { title: "Group" },
]

class Row {
    readonly element: HTMLElement
    index = -1
    private readonly link: HTMLAnchorElement
    private readonly state: HTMLElement
    private readonly light: HTMLElement
    private readonly bar: HTMLElement
    private readonly led: HTMLElement
    private readonly ledFlag: HTMLElement
    private readonly decider: HTMLElement
    private readonly seen: HTMLElement
    private readonly group: HTMLElement

    constructor() {
        const cell = (name: string, children: (Node | string)[] = []) =>
            el("div", { class: `cell cell-${name}`, role: "cell" }, children)
        this.link = el("a", { class: "row-id", href: "#/" })
        this.state = el("span", { class: "pill", "data-testid": "row-state" })
        this.light = el("span", { class: "light-value", "data-testid": "row-light" })
        this.bar = el("i")
        this.led = el("span", { class: "pill", "data-testid": "row-led" })
        this.ledFlag = el("span", { class: "led-flag", "data-testid": "row-led-disagrees", text: "≠ server" })
        this.decider = el("span", { "data-testid": "row-decider" })
        this.seen = el("span", { "data-testid": "row-last-seen" })
        this.group = el("span", { "data-testid": "row-group" })
        this.element = el("div", { class: "trow", role: "row", "data-testid": "device-row" }, [
            cell("id", [this.link]),
            cell("state", [this.state]),
            cell("light", [this.light, el("span", { class: "light-bar", "aria-hidden": "true" }, [this.bar])]),
            cell("led", [this.led, this.ledFlag]),
            cell("decider", [this.decider]),
            cell("seen", [this.seen]),
            cell("group", [this.group]),
        ])
        this.element.style.height = `${ROW_HEIGHT_PX}px`
    }

    place(index: number): void {
        this.index = index
        this.element.style.transform = `translateY(${index * ROW_HEIGHT_PX}px)`
        this.element.setAttribute("aria-rowindex", String(index + 2))
    }

    fill(device: DeviceView | undefined, now: number): void {
        if (!device) {
            // Not fetched yet: a placeholder of the same height.
            delete this.element.dataset.deviceId
            setData(this.element, "loading", "true")
            for (const node of [this.link, this.state, this.light, this.led, this.decider, this.seen, this.group])
                setText(node, "")
            this.ledFlag.hidden = true
            this.bar.style.width = "0"
            this.link.removeAttribute("href")
            return
        }
        delete this.element.dataset.loading
        setData(this.element, "deviceId", device.id)
        setText(this.link, device.id)
        const href = deviceHref(device.id)
        if (this.link.getAttribute("href") !== href) this.link.setAttribute("href", href)
        const online = device.online === null ? "unknown" : device.online ? "online" : "offline"
        setText(this.state, device.online === null ? "no status" : online)
        setData(this.state, "state", online)
        setText(this.light, device.light === null ? "—" : String(Math.round(device.light)))
        this.bar.style.width = device.light === null ? "0" : `${Math.min(100, (device.light / 1023) * 100)}%`
        const led = device.reportedLed ?? device.ledOn
        const ledText = led === null ? "unknown" : led ? "on" : "off"
        setText(this.led, ledText)
        setData(this.led, "state", ledText)
        const disagrees = device.reportedLed !== null && device.ledOn !== null && device.reportedLed !== device.ledOn
        this.ledFlag.hidden = !disagrees
        setData(this.led, "disagrees", String(disagrees))
        this.ledFlag.title = disagrees
            ? `the device reports ${ledText}; the server decided ${device.ledOn ? "on" : "off"}`
            : ""
        setText(this.decider, deciderText(device))
        setText(this.seen, device.lastSeen ? ago(now - device.lastSeen) : "never")
        setText(this.group, device.group ?? "—")
    }
}

export class DeviceTable {
    readonly element: HTMLElement
    private readonly scroller: HTMLElement
    private readonly spacer: HTMLElement
    private readonly empty: HTMLElement
    private readonly count: HTMLElement
    private readonly headers = new Map<DeviceSort, HTMLElement>()
    private readonly rows: DeviceRows
    private readonly placed = new Map<number, Row>()
    private readonly spare: Row[] = []
    private readonly scheduleFrame = oncePerFrame(() => this.render())
    private route?: FleetRoute
    private active = false
    private ticker?: number

    constructor(
        root: ParentNode,
        private readonly store: Store,
        private readonly watch: Watch,
        private readonly navigate: (route: FleetRoute) => void
    ) {
        this.element = byTestId(root, "device-table")
        this.count = byTestId(root, "device-count")
        this.rows = new DeviceRows(() => this.scheduleFrame())
        const head = el("div", { class: "trow thead", role: "row", "aria-rowindex": "1" })
        for (const column of COLUMNS) {
            const header = el("div", { class: "cell", role: "columnheader" })
            if (column.sort) {
                const sort = column.sort
                const button = el("button", {
                    type: "button",
                    class: "sort",
                    "data-testid": `sort-${sort}`,
                    text: column.title,
                })
                button.addEventListener("click", () => this.sortBy(sort, column.firstOrder ?? "asc"))
                header.append(button)
                header.setAttribute("aria-sort", "none")
                this.headers.set(sort, header)
            } else header.textContent = column.title
            head.append(header)
        }
        this.spacer = el("div", { class: "table-spacer", role: "rowgroup" })
        this.scroller = el("div", { class: "table-scroll", "data-testid": "device-table-scroll" }, [this.spacer])
        this.empty = el("p", { class: "empty table-empty", "data-testid": "table-empty", hidden: true })
        this.element.setAttribute("role", "table")
        this.element.setAttribute("aria-label", "Devices")
        this.element.append(el("div", { class: "table-head", role: "rowgroup" }, [head]), this.scroller, this.empty)
        this.scroller.addEventListener("scroll", () => this.scheduleFrame(), { passive: true })
        window.addEventListener("resize", () => this.scheduleFrame())
        store.listen(event => this.apply(event))
    }

    /** Shown (a big fleet's fleet page) or not: hidden, it fetches and watches nothing. */
    setActive(active: boolean): void {
        if (this.active === active) return
        this.active = active
        this.element.hidden = !active
        window.clearInterval(this.ticker)
        if (active) {
            this.ticker = window.setInterval(() => this.scheduleFrame(), TICK_MS)
            if (this.route) this.rows.setQuery(queryOf(this.route))
            this.scheduleFrame()
        } else this.watch.set("table", [])
    }

    setRoute(route: FleetRoute): void {
        const before = this.route
        this.route = route
        for (const [sort, header] of this.headers)
            header.setAttribute(
                "aria-sort",
                sort === route.sort ? (route.order === "asc" ? "ascending" : "descending") : "none"
            )
        if (before && JSON.stringify(queryOf(before)) === JSON.stringify(queryOf(route))) return
        if (!this.active) return
        this.scroller.scrollTop = 0
        this.rows.setQuery(queryOf(route))
        this.scheduleFrame()
    }

    private sortBy(sort: DeviceSort, firstOrder: "asc" | "desc"): void {
        if (!this.route) return
        const order = this.route.sort === sort ? (this.route.order === "asc" ? "desc" : "asc") : firstOrder
        this.navigate({ ...this.route, sort, order })
    }

    private apply(event: LiveEvent): void {
        if (!this.active) return
        if (event.type === "summary" || event.type === "hello") this.rows.refresh()
        else if (event.type === "device" && this.rows.update(event.device)) this.scheduleFrame()
        if (event.type === "summary" || event.type === "hello") this.scheduleFrame()
    }

    private render(): void {
        if (!this.active) return
        const total = this.rows.total ?? 0
        this.spacer.style.height = `${total * ROW_HEIGHT_PX}px`
        this.element.setAttribute("aria-rowcount", String(total + 1))
        const top = this.scroller.scrollTop
        const height = this.scroller.clientHeight
        const firstVisible = Math.floor(top / ROW_HEIGHT_PX)
        const lastVisible = Math.min(total - 1, Math.floor((top + height) / ROW_HEIGHT_PX))
        const from = Math.max(0, firstVisible - OVERSCAN)
        const to = Math.min(total - 1, lastVisible + OVERSCAN)
        for (const [index, row] of this.placed) {
            if (index >= from && index <= to) continue
            this.placed.delete(index)
            row.element.remove()
            this.spare.push(row)
        }
        const now = this.store.serverNow()
        const watched: string[] = []
        for (let index = from; index <= to; index++) {
            let row = this.placed.get(index)
            if (!row) {
                row = this.spare.pop() ?? new Row()
                row.place(index)
                this.placed.set(index, row)
                this.spacer.append(row.element)
            }
            const device = this.rows.row(index)
            row.fill(device, now)
            if (device) watched.push(device.id)
        }
        this.watch.set("table", watched)
        if (total > 0) this.rows.show(firstVisible, lastVisible)
        this.showCount()
    }

    private showCount(): void {
        const all = this.store.summary?.devices
        const matching = this.rows.total
        this.empty.hidden = matching !== 0 && this.rows.error === undefined
        setText(
            this.empty,
            this.rows.error !== undefined ? `devices not available: ${this.rows.error}` : "No device matches."
        )
        if (matching === null) return
        const filtered = this.route?.state !== undefined || (this.route?.q ?? "") !== ""
        setText(
            this.count,
            filtered && all !== undefined
                ? `(${formatCount(matching)} of ${formatCount(all)})`
                : `(${formatCount(matching)})`
        )
    }
}

function queryOf(route: FleetRoute): RowsQuery {
    const query: RowsQuery = { sort: route.sort, order: route.order }
    if (route.state) query.state = route.state
    if (route.q !== "") query.q = route.q
    return query
}
