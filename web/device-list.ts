/**
 * The device cards, sorted by id, with a filter box. Cards update on the next animation frame after
 * their device changed (many events, one paint). Charts exist only for cards on screen, which is what
 * keeps a big fleet cheap.
 */
import type { LiveEvent } from "../server/api-types"
import { DeviceCard } from "./device-card"
import { byTestId, oncePerFrame, setText } from "./dom"
import type { Store } from "./store"

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
                for (const card of this.cards.values()) card.settingsChanged()
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
                this.cards.set(id, new DeviceCard(device, () => this.store.settings))
                added = true
            }
        }
        this.dirty.clear()
        if (added) this.placeCards()
        setText(this.count, `(${this.cards.size})`)
        this.empty.hidden = this.cards.size > 0
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
