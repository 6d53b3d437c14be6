/**
 * The dashboard's picture of the server: devices, groups and settings, replaced whole by each "hello"
 * (on connect and on every reconnect) and kept current by the live events after it. Views listen and
 * read from here; nothing else holds state.
 */
import type { DeviceView, GroupView, LiveEvent, RuleSettings } from "../server/http/api-types"

export type StoreListener = (event: LiveEvent) => void

export class Store {
    readonly devices = new Map<string, DeviceView>()
    readonly groups = new Map<string, GroupView>()
    settings: RuleSettings | null = null
    private readonly listeners = new Set<StoreListener>()

    /** Called after the state took the event in. */
    listen(listener: StoreListener): void {
        this.listeners.add(listener)
    }

    apply(event: LiveEvent): void {
        switch (event.type) {
            case "hello":
                this.devices.clear()
                for (const device of event.devices) this.devices.set(device.id, device)
                this.groups.clear()
                for (const group of event.groups) this.groups.set(group.name, group)
                this.settings = event.settings
                break
            case "device":
                this.devices.set(event.device.id, event.device)
                break
            case "group":
                this.groups.set(event.group.name, event.group)
                break
            case "settings":
                this.settings = event.settings
                break
            case "summary":
            case "reading":
            case "command":
                // Carried by the "device" event that follows; the charts take these directly.
                break
        }
        for (const listener of this.listeners) listener(event)
    }
}
