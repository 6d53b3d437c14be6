/**
 * The devices' timing form (PATCH /api/device-config): how often a device reports, on how big a change,
 * and how long it waits for the server before deciding alone, in seconds here and ms on the wire. The
 * server sends them to every device in its config; a summary with a new config version (another tab,
 * the API) reloads the form unless the user is editing.
 */
import type { DeviceConfigPatch, DeviceConfigResponse } from "../server/http/api-types"
import { ApiRequestError, getDeviceConfig, patchDeviceConfig } from "./api"
import { byTestId, showStatus } from "./dom"
import type { Store } from "./store"

export class DeviceConfigForm {
    private readonly form: HTMLFormElement
    private readonly inputs: Record<keyof DeviceConfigPatch, HTMLInputElement>
    private readonly status: HTMLElement
    private shownVersion?: number
    private editing = false
    private loading = false

    constructor(root: ParentNode, store: Store) {
        this.form = byTestId<HTMLFormElement>(root, "device-config-form")
        this.inputs = {
            reportMs: byTestId<HTMLInputElement>(root, "config-report-s"),
            minChange: byTestId<HTMLInputElement>(root, "config-min-change"),
            localAfterMs: byTestId<HTMLInputElement>(root, "config-local-after-s"),
        }
        this.status = byTestId(root, "device-config-status")
        this.form.addEventListener("input", () => (this.editing = true))
        this.form.addEventListener("submit", event => {
            event.preventDefault()
            void this.save()
        })
        store.listen(event => {
            const version = event.type === "summary" ? event.summary.configVersion : undefined
            if (event.type === "hello" || (version !== undefined && version !== this.shownVersion)) void this.load()
        })
    }

    private async load(): Promise<void> {
        if (this.editing || this.loading) return
        this.loading = true
        try {
            this.show(await getDeviceConfig())
        } catch (error) {
            showStatus(this.status, `could not load: ${(error as Error).message}`, "error")
        } finally {
            this.loading = false
        }
    }

    private show(config: DeviceConfigResponse): void {
        if (this.editing) return
        this.shownVersion = config.version
        this.inputs.reportMs.value = String(config.reportMs / 1000)
        this.inputs.minChange.value = String(config.minChange)
        this.inputs.localAfterMs.value = String(config.localAfterMs / 1000)
    }

    private async save(): Promise<void> {
        for (const input of Object.values(this.inputs)) input.removeAttribute("aria-invalid")
        const patch: DeviceConfigPatch = {
            reportMs: milliseconds(this.inputs.reportMs.value),
            minChange: whole(this.inputs.minChange.value),
            localAfterMs: milliseconds(this.inputs.localAfterMs.value),
        }
        showStatus(this.status, "saving…", "busy")
        try {
            const config = await patchDeviceConfig(patch)
            this.editing = false
            this.show(config)
            showStatus(this.status, `Saved: sent to every device as version ${config.version}.`)
        } catch (error) {
            const field = error instanceof ApiRequestError ? error.field : undefined
            if (field !== undefined && field in this.inputs)
                this.inputs[field as keyof DeviceConfigPatch].setAttribute("aria-invalid", "true")
            showStatus(this.status, (error as Error).message, "error")
        }
    }
}

/** An empty box is sent as null, so the server names the missing field (as the rule's form does). */
function whole(text: string): number {
    return text.trim() === "" ? (null as unknown as number) : Number(text)
}

/** Seconds typed, ms sent; a fraction of a ms is rounded, anything else is left for the server to judge. */
function milliseconds(text: string): number {
    const seconds = whole(text)
    return seconds === null ? seconds : Math.round(seconds * 1000)
}
