/**
 * The device cards of a small fleet (up to CARDS_MAX devices when the page loads), sorted by id, filtered
 * by the route (a part of the id; a state), with their count ("(1 of 8)" while filtered). The ids come
 * from `GET /api/devices` (again when the fleet's counts change), the cards' views from the stream,
 * which watches them all. Cards update on the next animation frame after their device changed (many
 * events, one paint); charts exist only for cards on screen. Until the first "hello" the page says it
 * is connecting (index.html), not that there are no devices.
 */
import type { DeviceView, LiveEvent } from "../server/http/api-types"
import { getDevicePage } from "./api"
import { DeviceCard } from "./device-card"
import { byTestId, oncePerFrame, setText } from "./dom"
import type { FleetRoute } from "./route"
import type { Store } from "./store"
import type { Watch } from "./watch"

/** Shown once the server said what it knows and it knows no device. */
const NO_DEVICES = "No devices yet. They appear with their first message."
/** The most cards the page shows: one page of the API (the table takes over long before). */
const LIST_LIMIT = 1000
const REFRESH_DEBOUNCE_MS = 200

export class DeviceList {
    private readonly list: HTMLElement
    private readonly empty: HTMLElement
    private readonly count: HTMLElement
    private readonly cards = new Map<string, DeviceCard>()
    private readonly dirty = new Set<string>()
    private readonly scheduleFrame = oncePerFrame(() => this.render())
    private readonly visibility: IntersectionObserver
    /** Every device's id, from the last fetch; null before it. */
    private ids: Set<string> | null = null
    /** The ids in the route's state, when it names one. */
    private inState: Set<string> | null = null
    private route?: FleetRoute
    private active = false
    private connectedBefore = false
    private refreshTimer?: number
    private fetching = false
    private fetchAgain = false

    constructor(
        root: ParentNode,
        private readonly store: Store,
        private readonly watch: Watch
    ) {
        this.list = byTestId(root, "device-list")
        this.empty = byTestId(root, "devices-empty")
        this.count = byTestId(root, "device-count")
        // A little margin: the chart is ready by the time the card scrolls in.
        this.visibility = new IntersectionObserver(entries => this.visibilityChanged(entries), { rootMargin: "200px" })
        store.listen(event => this.apply(event))
    }

    /** Shown (a small fleet's page) or not: hidden, it fetches and watches nothing and has no charts. */
    setActive(active: boolean): void {
        if (!active) {
            // The table's fleet: no cards, and its own empty message.
            this.empty.hidden = true
            if (!this.active) return
            this.active = false
            this.list.hidden = true
            for (const card of this.cards.values()) this.removeCard(card)
            this.ids = null
            this.watch.set("cards", [])
            return
        }
        if (this.active) return
        this.active = true
        this.list.hidden = false
        // Settings come with the first hello: the server has said what it knows.
        if (this.store.settings !== null) setText(this.empty, NO_DEVICES)
        this.refresh(0)
    }

    setRoute(route: FleetRoute): void {
        const stateChanged = route.state !== this.route?.state
        this.route = route
        if (!this.active) return
        if (stateChanged) this.refresh(0)
        this.applyFilter()
    }

    private apply(event: LiveEvent): void {
        if (!this.active) return
        switch (event.type) {
            case "hello":
                setText(this.empty, NO_DEVICES)
                // Readings sent while we were away are in the history, not in the stream.
                if (this.connectedBefore) for (const card of this.cards.values()) card.reloadChart()
                this.connectedBefore = true
                this.refresh(0)
                break
            case "summary":
                this.refresh(REFRESH_DEBOUNCE_MS)
                break
            case "device":
                if (this.ids && !this.ids.has(event.device.id)) {
                    // A server without the fleet view sends every device: a new one shows at once.
                    if (this.store.summary !== null) return
                    this.ids.add(event.device.id)
                }
                this.dirty.add(event.device.id)
                this.scheduleFrame()
                break
            case "reading":
            case "command":
                this.cards.get(event.deviceId)?.live(event)
                break
            case "settings":
                for (const card of this.cards.values()) card.settingsChanged(event.settings, event.at ?? Date.now())
                break
            case "rule":
                this.cards.get(event.deviceId)?.ruleChanged(event.rule, event.at)
                break
        }
    }

    /** Asks the server which devices there are (and which are in the route's state). */
    private refresh(delayMs: number): void {
        window.clearTimeout(this.refreshTimer)
        this.refreshTimer = window.setTimeout(() => void this.fetch(), delayMs)
    }

    private async fetch(): Promise<void> {
        if (this.fetching) {
            this.fetchAgain = true
            return
        }
        this.fetching = true
        const state = this.route?.state
        try {
            const query = { offset: 0, limit: LIST_LIMIT, sort: "id", order: "asc" } as const
            const [all, inState] = await Promise.all([
                getDevicePage(query),
                state ? getDevicePage({ ...query, state }) : undefined,
            ])
            if (this.active && state === this.route?.state) this.took(all.devices, inState?.devices)
        } catch {
            this.refresh(2000) // the server busy or away: the stream's status says so
        } finally {
            this.fetching = false
        }
        if (this.fetchAgain) {
            this.fetchAgain = false
            this.refresh(0)
        }
    }

    private took(devices: DeviceView[], inState: DeviceView[] | undefined): void {
        this.ids = new Set(devices.map(d => d.id))
        this.inState = inState ? new Set(inState.map(d => d.id)) : null
        this.watch.set("cards", this.ids)
        for (const device of devices) {
            this.store.offer(device)
            this.dirty.add(device.id)
        }
        this.scheduleFrame()
    }

    private render(): void {
        if (!this.active || !this.ids) return
        for (const [id, card] of this.cards) if (!this.ids.has(id)) this.removeCard(card)
        let added = false
        for (const id of this.dirty) {
            const device = this.store.devices.get(id)
            if (!device || !this.ids.has(id)) continue
            const card = this.cards.get(id)
            if (card) card.update(device)
            else {
                this.cards.set(id, new DeviceCard(device))
                added = true
            }
        }
        this.dirty.clear()
        if (added) this.placeCards()
        else this.applyFilter()
        this.empty.hidden = this.cards.size > 0
    }

    private removeCard(card: DeviceCard): void {
        this.visibility.unobserve(card.element)
        card.hideChart()
        card.element.remove()
        this.cards.delete(card.id)
    }

    /** How many cards there are, and how many of them the filter shows. */
    private showCount(): void {
        let shown = 0
        for (const card of this.cards.values()) if (!card.element.hidden) shown++
        const all = this.cards.size
        setText(this.count, shown === all ? `(${all})` : `(${shown} of ${all})`)
    }

    /** Puts the cards in id order (only when one was added), then filters. */
    private placeCards(): void {
        const sorted = [...this.cards.values()].sort((a, b) => a.id.localeCompare(b.id))
        sorted.forEach((card, index) => {
            if (this.list.children[index] !== card.element) {
                this.list.insertBefore(card.element, this.list.children[index] ?? null)
                this.visibility.observe(card.element)
            }
        })
        this.applyFilter()
    }

    private applyFilter(): void {
        const text = (this.route?.q ?? "").toLowerCase()
        for (const card of this.cards.values())
            card.element.hidden =
                (text !== "" && !card.id.toLowerCase().includes(text)) ||
                (this.inState !== null && !this.inState.has(card.id))
        this.showCount()
    }

    private visibilityChanged(entries: IntersectionObserverEntry[]): void {
        for (const entry of entries) {
            const id = (entry.target as HTMLElement).dataset.deviceId
            const card = id === undefined ? undefined : this.cards.get(id)
            if (!card) continue
            if (entry.isIntersecting) card.showChart()
            else card.hideChart()
        }
    }
}
