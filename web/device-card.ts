/**
 * One device's card: online state (explained for a device that never says), light, LED, who decides
 * (the server's rule, a person's switch, the device itself), the last command, its chart (while on
 * screen) and, for the simulated device, the light slider.
 */
import type { DeviceView, LiveEvent, RuleSettings } from "../server/http/api-types"
import { DeviceChart } from "./device-chart"
import { clockTime, el, setData, setText } from "./dom"
import { SimSlider } from "./sim-slider"

export class DeviceCard {
    readonly element: HTMLElement
    private readonly fields: Record<
        "online" | "onlineNote" | "light" | "led" | "ledSource" | "decider" | "seen" | "config" | "command",
        HTMLElement
    >
    private readonly chartSlot: HTMLElement
    private chart?: DeviceChart
    private slider?: SimSlider
    private previous?: DeviceView

    constructor(private device: DeviceView) {
        const value = (testId: string) => el("dd", { "data-testid": testId })
        this.fields = {
            online: el("span", { class: "pill", "data-testid": "device-online" }),
            onlineNote: el("p", { class: "card-note", "data-testid": "device-online-note" }),
            light: value("device-light"),
            led: el("span", { class: "pill", "data-testid": "device-led" }),
            ledSource: el("span", { class: "sub" }),
            decider: value("device-decider"),
            seen: value("device-last-seen"),
            config: value("device-config"),
            command: value("device-last-command"),
        }
        this.chartSlot = el("div", { class: "chart-slot" })
        const titleId = `device-${device.id}`
        this.element = el(
            "article",
            {
                class: "card device",
                "data-testid": "device-card",
                "data-device-id": device.id,
                "aria-labelledby": titleId,
            },
            [
                el("header", { class: "card-head" }, [el("h3", { id: titleId, text: device.id }), this.fields.online]),
                this.fields.onlineNote,
                el("dl", { class: "facts" }, [
                    el("div", {}, [el("dt", { text: "Light" }), this.fields.light]),
                    el("div", {}, [el("dt", { text: "LED" }), el("dd", {}, [this.fields.led, this.fields.ledSource])]),
                    el("div", {}, [el("dt", { text: "Decided by" }), this.fields.decider]),
                    el("div", {}, [el("dt", { text: "Last seen" }), this.fields.seen]),
                    el("div", {}, [el("dt", { text: "Config" }), this.fields.config]),
                    el("div", { class: "wide" }, [el("dt", { text: "Last command" }), this.fields.command]),
                ]),
                this.chartSlot,
            ]
        )
        this.update(device)
    }

    get id(): string {
        return this.device.id
    }

    update(device: DeviceView): void {
        this.previous = this.device
        this.device = device
        const f = this.fields
        const online = device.online === null ? "unknown" : device.online ? "online" : "offline"
        setText(f.online, device.online === null ? "no status" : online)
        setData(f.online, "state", online)
        // The lesson's devices never publish a status: say why there is none, and what tells instead.
        setText(
            f.onlineNote,
            device.online === null ? `Sends no ${device.id}/status, so online or not is unknown: see Last seen.` : ""
        )
        f.onlineNote.hidden = device.online !== null
        setText(f.light, device.light === null ? "—" : String(Math.round(device.light)))
        // What the device said it shows beats what we told it (it may be deciding alone).
        const led = device.reportedLed ?? device.ledOn
        const ledText = led === null ? "unknown" : led ? "on" : "off"
        setText(f.led, ledText)
        setData(f.led, "state", ledText)
        setText(f.ledSource, led === null ? "" : device.reportedLed !== null ? "reported" : "commanded")
        const decider = deciderText(device)
        setText(f.decider, decider)
        f.decider.title = decider.startsWith("a person")
            ? "switched by hand: the rule takes over when it next changes"
            : ""
        setText(f.seen, clockTime(device.lastSeen || null))
        const config = configText(device)
        setText(f.config, config.text)
        setData(f.config, "state", config.state)
        // The last reading too: one that came between the chart's history and the stream's first event
        // for this device (it was not watched yet) is only here. Same time, same point: no double.
        if (device.lightAt !== null && device.light !== null && device.lightAt !== this.previous?.lightAt)
            this.chart?.add({
                type: "reading",
                deviceId: device.id,
                t: device.lightAt,
                light: device.light,
                led: device.reportedLed,
            })
        const command = device.lastCommand
        if (command && command.at !== this.previous?.lastCommand?.at) {
            // The chart learns decisions from here too: not every decision comes as a "command" event.
            this.chart?.add({
                type: "command",
                deviceId: device.id,
                t: command.at,
                ledOn: command.ledOn,
                reason: command.reason,
            })
        }
        setText(
            f.command,
            command ? `${command.ledOn ? "on" : "off"} at ${clockTime(command.at)}: ${command.reason}` : "—"
        )
        if (device.simulated && !this.slider) {
            // The simulated device gets its tag and its light slider (once; a device stays simulated).
            this.fields.online.before(el("span", { class: "pill sim-tag", text: "simulated" }))
            this.slider = new SimSlider(device.id, device.light)
            this.element.append(this.slider.element)
        }
        this.slider?.update(device.light)
    }

    /** `loaded` runs once the chart has its history (or failed to get it: start() never rejects). */
    showChart(loaded?: () => void): void {
        if (this.chart) return
        this.chart = new DeviceChart(this.device.id)
        this.chartSlot.append(this.chart.element)
        void this.chart.start().then(loaded)
    }

    hideChart(): void {
        this.chart?.destroy()
        this.chart?.element.remove()
        this.chart = undefined
    }

    /** Readings and commands for the chart; nothing to do while it is off screen. */
    live(event: Extract<LiveEvent, { type: "reading" | "command" }>): void {
        this.chart?.add(event)
    }

    /** The fleet's rule changed at `at` (ms): the chart's band moves from then on, unless the device has its own. */
    settingsChanged(settings: RuleSettings, at: number): void {
        this.chart?.settingsChanged(settings, at)
    }

    /** The device's own rule changed at `at` (ms; null: the fleet's again): the chart's band moves from then on. */
    ruleChanged(rule: RuleSettings | null, at: number): void {
        this.chart?.ruleChanged(rule, at)
    }

    /** After a reconnect: the chart reads its window again. */
    reloadChart(): void {
        void this.chart?.reload()
    }
}

/** The config the device runs (`<id>/config`), in words, and whether it needs a look. */
export function configText(device: DeviceView): { text: string; state: "current" | "old" | "refused" | "unknown" } {
    if (device.configError) return { text: `refused ${device.configError}`, state: "refused" }
    const running = device.configVersion
    // The lesson's devices (and ours before their first config) do not say.
    if (running === null || running === undefined) return { text: "not reported", state: "unknown" }
    const sent = device.configSent
    if (sent !== undefined && running < sent) return { text: `old: ${running} (the server's: ${sent})`, state: "old" }
    // above what this server sent: forged, or another server's counter; the device ignores the server's now
    if (sent !== undefined && running > sent)
        return { text: `not the server's: ${running} (the server's: ${sent})`, state: "old" }
    return { text: `current (${running})`, state: "current" }
}

/** Who decides the LED now, in words (the card's and the table's). */
export function deciderText(device: DeviceView): string {
    // "device": it has not heard from the server for a while and applies the rule itself.
    if (device.decider === "device") return "device (local rule)"
    // A server that does not say (older): a person's switch is the last command until the rule's next one.
    if (device.switchedByHand ?? device.lastCommand?.reason === "manual") return "a person (by hand)"
    return device.group === null ? "server" : `server, group ${device.group}`
}
