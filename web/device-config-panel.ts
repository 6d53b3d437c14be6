/**
 * The device page's config panel: what the device is sent (`<id>/config`), where each value comes from
 * (the fleet, its group or itself), and a form for its own values (GET/PATCH/DELETE
 * /api/device-config/devices/:id). A box left empty takes the group's or the fleet's value.
 */
import type { DeviceConfigDeviceView, DeviceConfigField, DeviceView } from "../server/http/api-types"
import { ApiRequestError, clearDeviceConfigOverride, getDeviceConfigOf, patchDeviceConfigOverride } from "./api"
import { CONFIG_FIELDS, OverrideInputs } from "./config-override-inputs"
import { duration, el, setText, showStatus } from "./dom"

export class DeviceConfigPanel {
    readonly element: HTMLElement
    private readonly inputs = new OverrideInputs("device-override")
    private readonly values = new Map<DeviceConfigField, HTMLElement>()
    private readonly status: HTMLElement
    private readonly version: HTMLElement
    private shownSent?: number
    private editing = false
    private started = false

    constructor(private readonly id: string) {
        const form = el("form", { class: "settings-form", "data-testid": "device-override-form", novalidate: true })
        const list = el("dl", { class: "config-values" })
        for (const f of CONFIG_FIELDS) {
            const value = el("dd", { "data-testid": `device-config-${f.name}` })
            this.values.set(f.name, value)
            list.append(el("dt", { text: f.label }), value)
        }
        form.append(...this.inputs.labels)
        const clear = el("button", { type: "button", text: "Clear", "data-testid": "device-override-clear" })
        form.append(el("button", { type: "submit", text: "Save", "data-testid": "device-override-save" }), clear)
        this.version = el("p", { class: "hint", "data-testid": "device-config-version" })
        this.status = el("p", { class: "form-status", "data-testid": "device-override-status", role: "status" })
        this.element = el("section", { class: "panel", "data-testid": "device-config-panel" }, [
            el("h2", { text: "This device's config" }),
            this.version,
            list,
            el("p", { class: "hint", text: "Its own values (empty: its group's or the fleet's):" }),
            form,
            this.status,
        ])
        form.addEventListener("input", () => (this.editing = true))
        form.addEventListener("submit", event => {
            event.preventDefault()
            void this.save()
        })
        clear.addEventListener("click", () => void this.save(true))
    }

    /** The first load; the page asks once the chart has its history (see DevicePage.open). */
    start(): void {
        this.started = true
        void this.load()
    }

    /** A live update of the device: a config published anew (its group's, the fleet's) is shown at once. */
    deviceChanged(device: DeviceView): void {
        if (this.started && device.configSent !== undefined && device.configSent !== this.shownSent) void this.load()
    }

    private async load(): Promise<void> {
        try {
            this.show(await getDeviceConfigOf(this.id))
        } catch (error) {
            showStatus(this.status, `could not load: ${(error as Error).message}`, "error")
        }
    }

    private show(view: DeviceConfigDeviceView): void {
        this.shownSent = view.config.version
        setText(this.version, `version ${view.config.version}${view.group === null ? "" : `, group ${view.group}`}`)
        for (const f of CONFIG_FIELDS) {
            const v = view.config[f.name]
            setText(this.values.get(f.name)!, `${f.seconds ? duration(v) : v} · ${view.sources[f.name]}`)
        }
        if (!this.editing) this.inputs.fill(view.override)
    }

    private async save(clear = false): Promise<void> {
        const patch = this.inputs.patch()
        showStatus(this.status, "saving…", "busy")
        try {
            const view = clear
                ? await clearDeviceConfigOverride(this.id)
                : await patchDeviceConfigOverride(this.id, patch)
            this.editing = false
            this.show(view)
            showStatus(this.status, `Saved: version ${view.config.version}.`)
        } catch (error) {
            this.inputs.markInvalid(error instanceof ApiRequestError ? error.field : undefined)
            showStatus(this.status, (error as Error).message, "error")
        }
    }
}
