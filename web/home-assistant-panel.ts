/**
 * The Home Assistant panel, shown when the server runs with --ha-discovery: the devices deleted in Home
 * Assistant, which the server leaves out, each with a button that brings it back (PUT
 * /api/home-assistant/devices/:id). The list has no live event: it is read at load, every REFRESH_MS
 * and after each button.
 */
import type { HomeAssistantView } from "../server/http/api-types"
import { ApiRequestError, getHomeAssistant, showInHomeAssistant } from "./api"
import { el, find, showStatus } from "./dom"

/** ms between reads of the list (a deletion in Home Assistant shows up within this). */
const REFRESH_MS = 30_000

export class HomeAssistantPanel {
    private readonly element: HTMLElement
    private readonly list: HTMLElement
    private readonly empty: HTMLElement
    private readonly status: HTMLElement

    constructor(root: ParentNode) {
        this.list = el("ul", { class: "ha-removed", "data-testid": "ha-removed" })
        this.empty = el("p", { class: "empty", text: "No device deleted in Home Assistant." })
        this.status = el("p", { class: "form-status", "data-testid": "ha-status", role: "status" })
        this.element = el("section", { class: "panel", "data-testid": "ha-panel", hidden: true }, [
            el("h2", { text: "Home Assistant" }),
            el("p", { class: "hint", text: "Deleted there, so not announced until you bring them back:" }),
            this.empty,
            this.list,
            this.status,
        ])
        find(root, "aside.side").append(this.element)
        void this.refresh()
        window.setInterval(() => void this.refresh(), REFRESH_MS)
    }

    private async refresh(): Promise<void> {
        try {
            this.render(await getHomeAssistant())
        } catch {
            // the server is away: the live badge says so; the next refresh tries again
        }
    }

    private render(view: HomeAssistantView): void {
        this.element.hidden = !view.enabled
        this.empty.hidden = view.removed.length > 0
        this.list.replaceChildren(
            ...view.removed.map(id => {
                const button = el("button", {
                    type: "button",
                    "data-testid": "ha-show",
                    text: "Show in Home Assistant",
                })
                button.addEventListener("click", () => void this.show(id, button))
                return el("li", { "data-device": id }, [el("span", { class: "ha-id", text: id }), button])
            })
        )
    }

    private async show(id: string, button: HTMLButtonElement): Promise<void> {
        button.disabled = true
        showStatus(this.status, `announcing ${id}…`, "busy")
        try {
            this.render(await showInHomeAssistant(id))
            showStatus(this.status, `${id} is back in Home Assistant`)
        } catch (error) {
            button.disabled = false
            showStatus(this.status, error instanceof ApiRequestError ? error.message : String(error), "error")
        }
    }
}
