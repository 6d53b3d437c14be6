/**
 * The fleet at a glance, first on the page: how many devices, and how many in each state (online,
 * offline, deciding locally, LED disagreeing…), each count a button that filters the devices below by
 * that state (pressed again: no filter). Counts come from the stream's summaries (at most one a
 * second), so the overview costs the same at 10 or 10,000 devices.
 */
import { DEVICE_STATES, type DeviceStateName, type SummaryResponse } from "../server/http/api-types"
import { byTestId, duration, el, oncePerFrame, setText } from "./dom"
import type { Store } from "./store"

/** Each state in plain words; `stale` says after how long. */
function stateLabel(state: DeviceStateName, staleAfterMs: number): string {
    switch (state) {
        case "online":
            return "Online"
        case "offline":
            return "Offline"
        case "no_status":
            return "No status"
        case "led_on":
            return "LED on"
        case "led_off":
            return "LED off"
        case "local":
            return "Deciding locally"
        case "stale":
            return `Silent over ${duration(staleAfterMs)}`
        case "readings_lost":
            return "Readings lost"
        case "led_disagrees":
            return "LED disagrees"
        case "config_old":
            return "Old config"
    }
}

/** States that need a look when above zero: their button stands out. */
const WORRYING = new Set<DeviceStateName>(["offline", "local", "stale", "readings_lost", "led_disagrees", "config_old"])

export const formatCount = (n: number): string => n.toLocaleString("en-US")

export class FleetOverview {
    private readonly total: HTMLElement
    private readonly groups: HTMLElement
    private readonly buttons = new Map<
        DeviceStateName,
        { button: HTMLButtonElement; count: HTMLElement; label: HTMLElement }
    >()
    private readonly scheduleFrame = oncePerFrame(() => this.render())
    private active?: DeviceStateName

    constructor(
        root: ParentNode,
        private readonly store: Store,
        onFilter: (state: DeviceStateName | undefined) => void
    ) {
        const section = byTestId(root, "fleet-overview")
        this.total = el("p", { class: "fleet-total", "data-testid": "fleet-total", "data-count": 0 })
        this.groups = el("p", { class: "fleet-groups hint", "data-testid": "fleet-groups" })
        const list = el("div", { class: "state-counts", role: "group", "aria-label": "Filter devices by state" })
        for (const state of DEVICE_STATES) {
            const count = el("span", { class: "state-count", text: "–" })
            const label = el("span", { class: "state-label", text: stateLabel(state, 60_000) })
            const button = el(
                "button",
                {
                    type: "button",
                    class: "state-button",
                    "data-testid": `count-${state}`,
                    "data-state": state,
                    "data-count": 0,
                    "aria-pressed": "false",
                },
                [count, label]
            )
            button.addEventListener("click", () => onFilter(this.active === state ? undefined : state))
            this.buttons.set(state, { button, count, label })
            list.append(button)
        }
        section.append(el("div", { class: "fleet-head" }, [this.total, this.groups]), list)
        store.listen(event => {
            if (event.type === "hello" || event.type === "summary") this.scheduleFrame()
        })
    }

    /** The state the devices below are filtered by (from the URL). */
    setActive(state: DeviceStateName | undefined): void {
        this.active = state
        for (const [name, { button }] of this.buttons) button.setAttribute("aria-pressed", String(name === state))
    }

    private render(): void {
        const summary = this.store.summary
        if (!summary) return
        this.showTotal(summary)
        for (const [state, { button, count, label }] of this.buttons) {
            const n = summary.counts[state]
            button.dataset.count = String(n)
            button.dataset.alert = String(WORRYING.has(state) && n > 0)
            setText(count, formatCount(n))
            setText(label, stateLabel(state, summary.staleAfterMs))
        }
    }

    private showTotal(summary: SummaryResponse): void {
        this.total.dataset.count = String(summary.devices)
        setText(this.total, `${formatCount(summary.devices)} device${summary.devices === 1 ? "" : "s"}`)
        const groups = summary.groups
        if (groups.length === 0) {
            setText(this.groups, "")
            return
        }
        const on = groups.filter(g => g.ledOn === true).length
        const off = groups.filter(g => g.ledOn === false).length
        const undecided = groups.length - on - off
        const parts = [`${on} on`, `${off} off`]
        if (undecided > 0) parts.push(`${undecided} undecided`)
        setText(this.groups, `${groups.length} group${groups.length === 1 ? "" : "s"}: ${parts.join(", ")}`)
    }
}
