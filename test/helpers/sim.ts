/** Helpers for tests that run the real firmware in the simulator. */
import type { RunningServer } from "../../server/app"
import type { TelemetryEvent } from "../../server/controller/events"
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

/** The server's next valid reading from `deviceId`, within `ms` (the VM boots in seconds). */
export function firstReading(server: RunningServer, deviceId: string, ms = 30_000): Promise<TelemetryEvent> {
    return within(
        ms,
        `the first reading from ${deviceId}`,
        new Promise<TelemetryEvent>(resolve => {
            const listener = (e: TelemetryEvent) => {
                if (e.deviceId !== deviceId) return
                server.controller.off("telemetry", listener)
                resolve(e)
            }
            server.controller.on("telemetry", listener)
        })
    )
}
