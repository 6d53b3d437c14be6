/**
 * Runs the simulated nightlight (sim/device.ts: the real firmware in the DeviceScript VM) next to the
 * server. The server is useful without it, so a failure here is logged and survived, never fatal.
 */
import type { Logger } from "./util/logger"

export interface SimulatedDevice {
    start(): Promise<void>
    stop(): Promise<void>
    /** Holds the virtual sensor at this light (lesson units), or "daylight": the day/night cycle again. */
    setLight(light: number | "daylight"): void
}

export interface SimulatorOptions {
    brokerUrl: string
    deviceId: string
    /** "daylight" runs the simulator's day/night cycle; a number holds the light (0..1023). */
    light: "daylight" | number
    logger: Logger
    /** The server's threshold: the firmware reports a reading that crosses it at once. */
    threshold?: number
    /** Firmware settings (src/config.ts) beyond the derived ones. */
    settings?: Record<string, string | number | boolean>
}

export type SimulatorClass = new (options: SimulatorOptions) => SimulatedDevice

/** Imported only when wanted: the simulator pulls in the DeviceScript tool chain and jacdac-ts. */
export async function loadSimulator(): Promise<SimulatorClass> {
    const { SimulatedNightlight } = await import("../sim/device")
    return SimulatedNightlight
}

export interface SimulatorRunnerOptions {
    brokerUrl: string
    deviceId: string
    logger: Logger
    threshold?: number
    /** The server's hysteresis band, which the firmware uses when it decides by itself. */
    band?: number
    load?: () => Promise<SimulatorClass>
    /** ms stop() waits for the device before giving up on it. */
    stopTimeoutMs?: number
}

export class SimulatorRunner {
    private readonly options: SimulatorRunnerOptions
    private readonly log: Logger
    private device?: SimulatedDevice
    private starting?: Promise<boolean>
    private stopping = false
    private running = false

    constructor(options: SimulatorRunnerOptions) {
        this.options = options
        this.log = options.logger.child({ component: "sim" })
    }

    /** Never rejects. */
    start(): Promise<boolean> {
        this.starting ??= this.run()
        return this.starting
    }

    get deviceId(): string {
        return this.options.deviceId
    }

    /** false while not running. */
    setLight(light: number | "daylight"): boolean {
        if (!this.running || !this.device) return false
        this.device.setLight(light)
        return true
    }

    /** Even halfway through its start. Never rejects. */
    async stop(): Promise<void> {
        this.stopping = true
        this.running = false
        const device = this.device
        this.device = undefined
        if (device) await stopDevice(device, this.log, this.options.stopTimeoutMs ?? 5000)
    }

    private async run(): Promise<boolean> {
        const { deviceId } = this.options
        try {
            const Simulator = await (this.options.load ?? loadSimulator)()
            if (this.stopping) return false
            this.device = new Simulator({
                brokerUrl: this.options.brokerUrl,
                deviceId,
                light: "daylight",
                logger: this.log,
                threshold: this.options.threshold,
                settings: this.options.band === undefined ? undefined : { BAND: this.options.band },
            })
            this.log.info(`starting the simulated nightlight "${deviceId}" (takes a few seconds)`)
            await this.device.start()
            this.running = true
            return true
        } catch (err) {
            // Stopped halfway: the device's start fails as a matter of course; nothing to report.
            if (this.stopping) return false
            const outcome = "the server keeps running without it (--no-sim skips it)"
            // A missing module is a plain fact, not a bug: no stack trace for it.
            if ((err as { code?: string }).code === "ERR_MODULE_NOT_FOUND")
                this.log.error(`could not load the simulated nightlight: ${(err as Error).message}; ${outcome}`)
            else this.log.error({ err }, `the simulated nightlight did not start; ${outcome}`)
            const device = this.device
            this.device = undefined
            if (device) await stopDevice(device, this.log, this.options.stopTimeoutMs ?? 5000)
            return false
        }
    }
}

async function stopDevice(device: SimulatedDevice, log: Logger, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<"timeout">(resolve => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs)
    })
    try {
        const result = await Promise.race([device.stop(), timeout])
        if (result === "timeout") log.warn(`the simulated nightlight did not stop within ${timeoutMs / 1000} s`)
    } catch (err) {
        log.warn({ err }, "the simulated nightlight failed to stop cleanly")
    } finally {
        clearTimeout(timer)
    }
}
