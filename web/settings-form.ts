/**
 * The threshold and band form (PATCH /api/settings). It shows the server's values unless the user is
 * editing; an error answer marks the field the server named.
 */
import type { RuleSettingsPatch } from "../server/http/api-types"
import { ApiRequestError, patchSettings } from "./api"
import { byTestId, showStatus } from "./dom"
import type { Store } from "./store"

export class SettingsForm {
    private readonly form: HTMLFormElement
    private readonly threshold: HTMLInputElement
    private readonly band: HTMLInputElement
    private readonly status: HTMLElement
    /** Typed into and not saved yet: live updates leave it alone. */
    private editing = false

    constructor(
        root: ParentNode,
        private readonly store: Store
    ) {
        this.form = byTestId<HTMLFormElement>(root, "settings-form")
        this.threshold = byTestId<HTMLInputElement>(root, "settings-threshold")
        this.band = byTestId<HTMLInputElement>(root, "settings-band")
        this.status = byTestId(root, "settings-status")
        this.form.addEventListener("input", () => (this.editing = true))
        this.form.addEventListener("submit", event => {
            event.preventDefault()
            void this.save()
        })
        store.listen(event => {
            if (event.type === "hello" || event.type === "settings") this.show()
        })
    }

    private show(): void {
        const settings = this.store.settings
        if (!settings || this.editing) return
        this.threshold.value = String(settings.threshold)
        this.band.value = String(settings.band)
    }

    private async save(): Promise<void> {
        for (const input of [this.threshold, this.band]) input.removeAttribute("aria-invalid")
        const patch: RuleSettingsPatch = { threshold: toNumber(this.threshold.value), band: toNumber(this.band.value) }
        showStatus(this.status, "saving…", "busy")
        try {
            await patchSettings(patch)
            this.editing = false
            this.show()
            showStatus(this.status, "Saved.")
        } catch (error) {
            const field = error instanceof ApiRequestError ? error.field : undefined
            if (field === "threshold") this.threshold.setAttribute("aria-invalid", "true")
            if (field === "band") this.band.setAttribute("aria-invalid", "true")
            showStatus(this.status, (error as Error).message, "error")
        }
    }
}

/** An empty box is sent as null, so the server says which field is missing instead of us guessing. */
function toNumber(text: string): number {
    return text.trim() === "" ? (null as unknown as number) : Number(text)
}
