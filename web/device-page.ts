/**
 * One device's page (`#/device/<id>`): a link back to the fleet, and the device's card with its chart
 * always shown, live through the stream (the page watches the device) and, for the simulated device,
 * the light slider; below it the device's config, where each value comes from, and its own values
 * (device-config-panel.ts). An id the server does not know says so; should the device appear meanwhile
 * (the stream watches ids not known yet), its card replaces the message.
 */
import type { LiveEvent } from "../server/http/api-types"
import { ApiRequestError, getDevice } from "./api"
import { DeviceCard } from "./device-card"
import { DeviceConfigPanel } from "./device-config-panel"
import { byTestId, el, setText } from "./dom"
import type { Store } from "./store"
import type { Watch } from "./watch"

export class DevicePage {
    private readonly section: HTMLElement
    private readonly body: HTMLElement
    private readonly message: HTMLElement
    private id?: string
    private card?: DeviceCard
    private config?: DeviceConfigPanel
    private connectedBefore = false

    constructor(
        root: ParentNode,
        private readonly store: Store,
        private readonly watch: Watch
    ) {
        this.section = byTestId(root, "device-page")
        this.message = el("p", { class: "empty", "data-testid": "device-page-message", role: "status" })
        this.body = el("div", { class: "device-page-body" })
        this.section.append(
            el("nav", { class: "back" }, [
                el("a", { href: "#/", "data-testid": "back-to-fleet", text: "← All devices" }),
            ]),
            this.message,
            this.body
        )
        store.listen(event => this.apply(event))
    }

    /** Shows the device `id`, or nothing (undefined: the fleet is shown). */
    show(id: string | undefined): void {
        if (id === this.id) return
        this.close()
        this.id = id
        this.section.hidden = id === undefined
        if (id === undefined) {
            this.watch.set("page", [])
            return
        }
        document.title = `${id} · Nightlight`
        this.watch.set("page", [id])
        const known = this.store.devices.get(id)
        if (known) this.open(known.id)
        else {
            setText(this.message, "loading…")
            void this.load(id)
        }
    }

    private async load(id: string): Promise<void> {
        try {
            const device = await getDevice(id)
            if (this.id !== id) return
            this.store.offer(device)
            if (!this.card) this.open(id)
        } catch (error) {
            if (this.id !== id || this.card) return
            setText(
                this.message,
                // 400: not even a valid id, so no such device either.
                error instanceof ApiRequestError && (error.status === 404 || error.status === 400)
                    ? `No device ${id}`
                    : `device not available: ${(error as Error).message}`
            )
        }
    }

    private open(id: string): void {
        const device = this.store.devices.get(id)
        if (!device) return
        setText(this.message, "")
        this.card = new DeviceCard(device)
        this.card.element.classList.add("device-page-card")
        this.config = new DeviceConfigPanel(id)
        this.body.replaceChildren(this.card.element, this.config.element)
        // the config after the chart's history: a request beside it made the history later, and a
        // reading between the history and the stream's watch of this device would miss the chart
        const config = this.config
        this.card.showChart(() => config.start())
    }

    private close(): void {
        this.card?.hideChart()
        this.card = undefined
        this.config = undefined
        this.body.replaceChildren()
        setText(this.message, "")
        document.title = "Nightlight"
    }

    private apply(event: LiveEvent): void {
        if (this.id === undefined) return
        switch (event.type) {
            case "hello":
                // Readings sent while we were away are in the history, not in the stream.
                if (this.connectedBefore) this.card?.reloadChart()
                this.connectedBefore = true
                break
            case "device":
                if (event.device.id !== this.id) return
                if (this.card) this.card.update(event.device)
                else this.open(this.id)
                this.config?.deviceChanged(event.device)
                break
            case "reading":
            case "command":
                if (event.deviceId === this.id) this.card?.live(event)
                break
            case "settings":
                this.card?.settingsChanged(event.settings, event.at ?? Date.now())
                break
            case "rule":
                if (event.deviceId === this.id) this.card?.ruleChanged(event.rule, event.at)
                break
        }
    }
}
