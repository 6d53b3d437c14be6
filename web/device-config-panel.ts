/**
 * The device page's config panel: what the device is sent (`<id>/config`), where each value comes from
 * (the fleet, its group or itself), and a form for its own values (GET/PATCH/DELETE
 * /api/device-config/devices/:id). A box left empty takes the group's or the fleet's value; times are
 * seconds here and ms on the wire, as in the fleet's timing form.
 */
import type {
    DeviceConfigDeviceView,
    DeviceConfigField,
    DeviceConfigOverridePatch,
    DeviceView,
} from "../server/http/api-types"
import { ApiRequestError, clearDeviceConfigOverride, getDeviceConfigOf, patchDeviceConfigOverride } from "./api"
import { duration, el, setText, showStatus } from "./dom"

interface Field {
    name: DeviceConfigField
    label: string
    /** Shown in seconds, sent in ms. */
    seconds: boolean
}

const FIELDS: Field[] = [
    { name: "threshold", label: "Threshold", seconds: false },
    { name: "band", label: "Band", seconds: false },
    { name: "reportMs", label: "Report every (s)", seconds: true },
    { name: "minChange", label: "or on a change of", seconds: false },
    { name: "localAfterMs", label: "Decide alone after (s)", seconds: true },
]

export class DeviceConfigPanel {
    readonly element: HTMLElement
    private readonly inputs = new Map<DeviceConfigField, HTMLInputElement>()
    private readonly values = new Map<DeviceConfigField, HTMLElement>()
    private readonly status: HTMLElement
    private readonly version: HTMLElement
    private shownSent?: number
    private editing = false

    constructor(private readonly id: string) {
        const form = el("form", { class: "settings-form", "data-testid": "device-override-form", novalidate: true })
        const list = el("dl", { class: "config-values" })
        for (const f of FIELDS) {
            const value = el("dd", { "data-testid": `device-config-${f.name}` })
            this.values.set(f.name, value)
            list.append(el("dt", { text: f.label }), value)
            const input = el("input", {
                name: f.name,
                type: "number",
                inputmode: f.seconds ? "decimal" : "numeric",
                step: f.seconds ? "0.1" : "1",
                "data-testid": `device-override-${f.name}`,
            })
            this.inputs.set(f.name, input)
            form.append(el("label", {}, [f.label, input]))
        }
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
        void this.load()
    }

    /** A live update of the device: a config published anew (its group's, the fleet's) is shown. */
    deviceChanged(device: DeviceView): void {
        if (device.configSent !== undefined && device.configSent !== this.shownSent) void this.load()
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
        for (const f of FIELDS) {
            const v = view.config[f.name]
            setText(this.values.get(f.name)!, `${f.seconds ? duration(v) : v} · ${view.sources[f.name]}`)
            if (this.editing) continue
            const own = view.override[f.name]
            this.inputs.get(f.name)!.value = own === undefined ? "" : String(f.seconds ? own / 1000 : own)
        }
    }

    private async save(clear = false): Promise<void> {
        const patch: DeviceConfigOverridePatch = {}
        for (const f of FIELDS) {
            const input = this.inputs.get(f.name)!
            input.removeAttribute("aria-invalid")
            const text = input.value.trim()
            // anything typed goes to the server as typed: it names the field at fault
            const n = text === "" ? null : Number(text)
            patch[f.name] = n === null ? null : f.seconds ? Math.round(n * 1000) : n
        }
        showStatus(this.status, "saving…", "busy")
        try {
            const view = clear
                ? await clearDeviceConfigOverride(this.id)
                : await patchDeviceConfigOverride(this.id, patch)
            this.editing = false
            this.show(view)
            showStatus(this.status, `Saved: version ${view.config.version}.`)
        } catch (error) {
            const field = error instanceof ApiRequestError ? error.field : undefined
            if (field !== undefined) this.inputs.get(field as DeviceConfigField)?.setAttribute("aria-invalid", "true")
            showStatus(this.status, (error as Error).message, "error")
        }
    }
}
