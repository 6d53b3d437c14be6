/**
 * A group card's "Members' config": the group's own config values (GET/PATCH/DELETE
 * /api/device-config/groups/:name), which win over the fleet's for its members, a member's own winning
 * over them. Built when first opened, so a page of many groups keeps its DOM small.
 */
import type { DeviceConfigGroupView } from "../server/http/api-types"
import { ApiRequestError, clearGroupConfig, getGroupConfig, patchGroupConfig } from "./api"
import { OverrideInputs } from "./config-override-inputs"
import { el, showStatus } from "./dom"

export class GroupConfigForm {
    readonly element: HTMLDetailsElement
    private inputs?: OverrideInputs
    private status?: HTMLElement

    constructor(private readonly name: string) {
        this.element = el("details", { "data-testid": "group-config" }, [el("summary", { text: "Members' config" })])
        this.element.addEventListener("toggle", () => {
            if (this.element.open && !this.inputs) this.build()
        })
    }

    private build(): void {
        const inputs = (this.inputs = new OverrideInputs("group-override"))
        const status = (this.status = el("p", {
            class: "form-status",
            "data-testid": "group-override-status",
            role: "status",
        }))
        const clear = el("button", { type: "button", text: "Clear", "data-testid": "group-override-clear" })
        const form = el("form", { class: "rule-form", "data-testid": "group-override-form", novalidate: true }, [
            ...inputs.labels,
            el("button", { type: "submit", text: "Save", "data-testid": "group-override-save" }),
            clear,
        ])
        this.element.append(
            el("p", { class: "hint", text: "The members' values (empty: the fleet's; a member's own wins):" }),
            form,
            status
        )
        form.addEventListener("submit", event => {
            event.preventDefault()
            void this.save(false)
        })
        clear.addEventListener("click", () => void this.save(true))
        getGroupConfig(this.name).then(
            view => inputs.fill(view.override),
            (error: Error) => showStatus(status, `could not load: ${error.message}`, "error")
        )
    }

    private async save(clear: boolean): Promise<void> {
        const inputs = this.inputs!
        const status = this.status!
        const patch = inputs.patch()
        showStatus(status, "saving…", "busy")
        try {
            const view: DeviceConfigGroupView = clear
                ? await clearGroupConfig(this.name)
                : await patchGroupConfig(this.name, patch)
            inputs.fill(view.override)
            showStatus(status, "Saved: sent to the members whose config changed.")
        } catch (error) {
            inputs.markInvalid(error instanceof ApiRequestError ? error.field : undefined)
            showStatus(status, (error as Error).message, "error")
        }
    }
}
