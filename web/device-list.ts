/**
 * The device cards, sorted by id, with a filter box and their count ("(1 of 8)" while filtered). Cards
 * update on the next animation frame after their device changed (many events, one paint). Charts exist
 * only for cards on screen, which is what keeps a big fleet cheap. Until the first "hello" the page
 * says it is connecting (index.html), not that there are no devices.
 */
import type { LiveEvent } from "../server/http/api-types"
import { DeviceCard } from "./device-card"
import { byTestId, oncePerFrame, setText } from "./dom"
import type { Store } from "./store"

/** Shown once the server said what it knows and it knows no device. */
const NO_DEVICES = "No devices yet. They appear with their first message."

export class DeviceList {
    private readonly list: HTMLElement
    private readonly empty: HTMLElement
    private readonly count: HTMLElement
    private readonly filter: HTMLInputElement
    private readonly cards = new Map<string, DeviceCard>()
    private readonly dirty = new Set<string>()
    private readonly scheduleFrame = oncePerFrame(() => this.render())
    private readonly visibility: IntersectionObserver
    private connectedBefore = false

    constructor(
        root: ParentNode,
        private readonly store: Store
    ) {
        this.list = byTestId(root, "device-list")
        this.empty = byTestId(root, "devices-empty")
        this.count = byTestId(root, "device-count")
        this.filter = byTestId<HTMLInputElement>(root, "device-filter")
        this.filter.addEventListener("input", () => this.applyFilter())
        // A little margin: the chart is ready by the time the card scrolls in.
        this.visibility = new IntersectionObserver(entries => this.visibilityChanged(entries), { rootMargin: "200px" })
        store.listen(event => this.apply(event))
    }

    private apply(event: LiveEvent): void {
        switch (event.type) {
            case "hello":
                setText(this.empty, NO_DEVICES)
                this.reset()
                break
            case "device":
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
        }
    }

    /** A (re)connect: the store holds the whole state again. */
    private reset(): void {
        for (const [id, card] of this.cards) {
            if (this.store.devices.has(id)) continue
            this.visibility.unobserve(card.element)
            card.hideChart()
            card.element.remove()
            this.cards.delete(id)
        }
        for (const id of this.store.devices.keys()) this.dirty.add(id)
        // Readings sent while we were away are in the history, not in the stream.
        if (this.connectedBefore) for (const card of this.cards.values()) card.reloadChart()
        this.connectedBefore = true
        this.scheduleFrame()
    }

    private render(): void {
        let added = false
        for (const id of this.dirty) {
            const device = this.store.devices.get(id)
            if (!device) continue
            const card = this.cards.get(id)
            if (card) card.update(device)
            else {
                this.cards.set(id, new DeviceCard(device))
                added = true
            }
        }
        this.dirty.clear()
        if (added) this.placeCards()
        this.showCount()
        this.empty.hidden = this.cards.size > 0
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
        const text = this.filter.value.trim().toLowerCase()
        for (const card of this.cards.values())
            card.element.hidden = text !== "" && !card.id.toLowerCase().includes(text)
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
