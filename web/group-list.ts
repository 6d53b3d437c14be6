/**
 * The group cards, in name order; members' votes follow their devices' live state, so the stream
 * watches the members each card lists too (after what the page shows: web/watch.ts caps the set).
 */
import type { LiveEvent } from "../server/http/api-types"
import { byTestId, oncePerFrame } from "./dom"
import { GroupCard, shownMembers } from "./group-card"
import type { Store } from "./store"
import type { Watch } from "./watch"

export class GroupList {
    private readonly list: HTMLElement
    private readonly empty: HTMLElement
    private readonly cards = new Map<string, GroupCard>()
    private readonly scheduleFrame = oncePerFrame(() => this.render())

    constructor(
        root: ParentNode,
        private readonly store: Store,
        private readonly watch: Watch
    ) {
        this.list = byTestId(root, "group-list")
        this.empty = byTestId(root, "groups-empty")
        store.listen(event => this.apply(event))
    }

    private apply(event: LiveEvent): void {
        // A member's light changes its vote: groups are few, so redraw them all, once a frame.
        if (event.type === "reading" || event.type === "command") return
        if (event.type === "device" && event.device.group === null) return
        this.scheduleFrame()
    }

    private render(): void {
        for (const [name, card] of this.cards) {
            if (this.store.groups.has(name)) continue
            card.element.remove()
            this.cards.delete(name)
        }
        const names = [...this.store.groups.keys()].sort((a, b) => a.localeCompare(b))
        names.forEach((name, index) => {
            const group = this.store.groups.get(name)!
            let card = this.cards.get(name)
            if (!card) {
                card = new GroupCard(group)
                this.cards.set(name, card)
            }
            if (this.list.children[index] !== card.element)
                this.list.insertBefore(card.element, this.list.children[index] ?? null)
            card.update(group, this.store.devices, this.store.settings)
        })
        this.empty.hidden = this.cards.size > 0
        this.watch.set(
            "groups",
            names.flatMap(name => shownMembers(this.store.groups.get(name)!))
        )
    }
}
