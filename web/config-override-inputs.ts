/**
 * The boxes of a group's or a device's own config values (DeviceConfigOverride): one per field, empty
 * for a value taken from wider up (the group's, the fleet's). Times are seconds here and ms on the wire,
 * as in the fleet's timing form; whatever is typed goes to the server, which names the field at fault.
 */
import type { DeviceConfigField, DeviceConfigOverride, DeviceConfigOverridePatch } from "../server/http/api-types"
import { el } from "./dom"

export interface ConfigField {
    name: DeviceConfigField
    label: string
    /** Shown in seconds, sent in ms. */
    seconds: boolean
}

export const CONFIG_FIELDS: readonly ConfigField[] = [
    { name: "threshold", label: "Threshold", seconds: false },
    { name: "band", label: "Band", seconds: false },
    { name: "reportMs", label: "Report every (s)", seconds: true },
    { name: "minChange", label: "or on a change of", seconds: false },
    { name: "localAfterMs", label: "Decide alone after (s)", seconds: true },
]

export class OverrideInputs {
    /** A label holding each box, in CONFIG_FIELDS' order. */
    readonly labels: HTMLElement[] = []
    private readonly inputs = new Map<DeviceConfigField, HTMLInputElement>()

    /** Test ids: `${testIdPrefix}-${field}`. */
    constructor(testIdPrefix: string) {
        for (const f of CONFIG_FIELDS) {
            const input = el("input", {
                name: f.name,
                type: "number",
                inputmode: f.seconds ? "decimal" : "numeric",
                step: f.seconds ? "0.1" : "1",
                "data-testid": `${testIdPrefix}-${f.name}`,
            })
            this.inputs.set(f.name, input)
            this.labels.push(el("label", {}, [f.label, input]))
        }
    }

    fill(override: DeviceConfigOverride): void {
        for (const f of CONFIG_FIELDS) {
            const own = override[f.name]
            this.inputs.get(f.name)!.value = own === undefined ? "" : String(f.seconds ? own / 1000 : own)
        }
    }

    /** Every field: a value, or null (empty: cleared). Clears the marks of a refusal before. */
    patch(): DeviceConfigOverridePatch {
        const patch: DeviceConfigOverridePatch = {}
        for (const f of CONFIG_FIELDS) {
            const input = this.inputs.get(f.name)!
            input.removeAttribute("aria-invalid")
            const text = input.value.trim()
            const n = text === "" ? null : Number(text)
            patch[f.name] = n === null ? null : f.seconds ? Math.round(n * 1000) : n
        }
        return patch
    }

    /** The field the server named, when it is one of these. */
    markInvalid(field: string | undefined): void {
        if (field !== undefined) this.inputs.get(field as DeviceConfigField)?.setAttribute("aria-invalid", "true")
    }
}
