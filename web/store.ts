/**
 * The dashboard's picture of the server: the fleet's summary, groups and settings, and the views of the
 * devices the page watches (web/watch.ts) only: at 10,000 devices the page never holds them all. Reset
 * by each "hello" (on connect and on every reconnect) and kept current by the live events after it.
 * Views listen and read from here.
 */
import type { DeviceView, GroupView, LiveEvent, RuleSettings, SummaryResponse } from "../server/http/api-types"

export type StoreListener = (event: LiveEvent) => void

export class Store {
    readonly devices = new Map<string, DeviceView>()
    readonly groups = new Map<string, GroupView>()
    settings: RuleSettings | null = null
    /** null until the first "hello", and from a server without the fleet view. */
    summary: SummaryResponse | null = null
    /** The server's clock minus the page's, from the last summary: "12 s ago" in the server's terms. */
    private clockOffsetMs = 0
    private readonly listeners = new Set<StoreListener>()

    /** Called after the state took the event in. */
    listen(listener: StoreListener): void {
        this.listeners.add(listener)
    }

    /** The server's clock now, as far as the page can tell. */
    serverNow(): number {
        return Date.now() + this.clockOffsetMs
    }

    apply(event: LiveEvent): void {
        switch (event.type) {
            case "hello":
                this.devices.clear()
                for (const device of event.devices) this.devices.set(device.id, device)
                this.groups.clear()
                for (const group of event.groups) this.groups.set(group.name, group)
                this.settings = event.settings
                this.takeSummary(event.summary ?? null)
                break
            case "summary":
                this.takeSummary(event.summary)
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
            case "reading":
            case "command":
            case "rule":
                // Carried by the "device" event that follows; the charts take these directly.
                break
        }
        for (const listener of this.listeners) listener(event)
    }

    /**
     * A view fetched over HTTP for a device the page watches: kept only when the stream has not sent
     * one yet (the stream's is as new or newer), and announced as a "device" event.
     */
    offer(device: DeviceView): void {
        if (this.devices.has(device.id)) return
        this.apply({ type: "device", device })
    }

    /** Forgets the views of devices no longer watched: the store stays a page's worth. */
    retain(watched: ReadonlySet<string>): void {
        for (const id of this.devices.keys()) if (!watched.has(id)) this.devices.delete(id)
    }

    private takeSummary(summary: SummaryResponse | null): void {
        this.summary = summary
        if (summary) this.clockOffsetMs = summary.at - Date.now()
    }
}
