/** Helpers for tests that run the real firmware in the simulator. */
import type { SimulatedNightlight } from "../../sim/device"
import { within } from "./mqtt"

/**
 * Resolves with the milliseconds from now until the simulated LED is `on`, or rejects after `ms`.
 * Waits on the hardware's own LED event, not on polling.
 */
export function ledBecomes(device: SimulatedNightlight, on: boolean, ms: number): Promise<number> {
    const started = performance.now()
    if (device.ledOn === on) return Promise.resolve(0)
    return within(
        ms,
        `the simulated LED to turn ${on ? "on" : "off"}`,
        new Promise<number>(resolve => {
            const listener = (state: boolean) => {
                if (state !== on) return
                device.off("led", listener)
                resolve(performance.now() - started)
            }
            device.on("led", listener)
        })
    )
}
