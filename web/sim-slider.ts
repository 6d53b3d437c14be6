/**
 * The light slider of the simulated device (`npm start` runs one): moving it sets what the virtual
 * sensor sees, through PUT /api/sim/light, at most every DEBOUNCE_MS while dragging and once at the end.
 * Live readings move the slider only when the user has left it alone for HOLD_MS. Moving it holds the
 * light; the "Day/night cycle" button hands it back to the simulator's cycle.
 */
import { ApiRequestError, setSimLight } from "./api"
import { el, setText, showStatus } from "./dom"

const DEBOUNCE_MS = 150
/** ms after the user's last move during which live readings do not move the slider. */
const HOLD_MS = 2000

export class SimSlider {
    readonly element: HTMLElement
    private readonly input: HTMLInputElement
    private readonly value: HTMLOutputElement
    private readonly status: HTMLElement
    private timer?: number
    private sending = false
    private next?: number
    private heldUntil = 0

    constructor(deviceId: string, light: number | null) {
        const inputId = `sim-light-${deviceId}`
        this.input = el("input", {
            id: inputId,
            type: "range",
            min: 0,
            max: 1023,
            step: 1,
            value: light ?? 512,
            "data-testid": "sim-slider",
        })
        this.value = el("output", { for: inputId, "data-testid": "sim-light-value", text: String(light ?? "—") })
        this.status = el("span", { class: "form-status", "data-testid": "sim-status", role: "status" })
        const cycle = el("button", {
            type: "button",
            class: "sim-daylight",
            "data-testid": "sim-daylight",
            title: "Let the simulated light follow its day/night cycle again",
            text: "Day/night cycle",
        })
        this.element = el("div", { class: "sim" }, [
            el("label", { for: inputId, text: "Simulated light" }),
            this.input,
            this.value,
            cycle,
            this.status,
        ])
        this.input.addEventListener("input", () => this.moved())
        cycle.addEventListener("click", () => void this.followDaylight())
    }

    /** Back to the cycle: live readings move the slider again at once. */
    private async followDaylight(): Promise<void> {
        window.clearTimeout(this.timer)
        this.timer = undefined
        this.next = undefined
        try {
            await setSimLight("daylight")
            this.heldUntil = 0
            showStatus(this.status, "following the day/night cycle")
        } catch (error) {
            showStatus(this.status, error instanceof ApiRequestError ? error.message : String(error), "error")
        }
    }

    /** The device's light now; ignored while the user is setting it. */
    update(light: number | null): void {
        if (light === null || this.timer !== undefined || this.sending || Date.now() < this.heldUntil) return
        this.input.value = String(light)
        setText(this.value, String(light))
    }

    private moved(): void {
        const light = Number(this.input.value)
        setText(this.value, String(light))
        this.heldUntil = Date.now() + HOLD_MS
        this.next = light
        window.clearTimeout(this.timer)
        this.timer = window.setTimeout(() => {
            this.timer = undefined
            void this.send()
        }, DEBOUNCE_MS)
    }

    /** One request at a time; the newest value wins. */
    private async send(): Promise<void> {
        if (this.sending || this.next === undefined) return
        const light = this.next
        this.next = undefined
        this.sending = true
        try {
            await setSimLight(light)
            showStatus(this.status, "")
        } catch (error) {
            showStatus(this.status, error instanceof ApiRequestError ? error.message : String(error), "error")
        } finally {
            this.sending = false
        }
        if (this.next !== undefined) void this.send()
    }
}
