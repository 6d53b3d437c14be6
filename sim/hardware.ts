/**
 * Virtual nightlight hardware on the DeviceScript devtools bus: a light-level sensor and a light bulb
 * (the LED), hosted by jacdac-ts in this process. The firmware's roles bind to them exactly as they
 * bind to the servers a board starts from its pins.
 */
import { jd, type JDBus } from "./jacdac"
import { LIGHT_MAX } from "../server/protocol/contract"

/** The devtools' Jacdac-over-TCP port (fixed by the DeviceScript CLI). */
export const DEVTOOLS_TCP_PORT = 8082

export class VirtualHardware {
    private bus?: JDBus
    private light?: InstanceType<typeof jd.SensorServer<[number]>>
    private bulb?: InstanceType<typeof jd.JDServiceServer>
    private ledListeners: ((on: boolean) => void)[] = []
    private lastLed: boolean | undefined

    constructor(private readonly initialLight: number) {}

    async start(): Promise<void> {
        const bus = new jd.JDBus([jd.createNodeSocketTransport(DEVTOOLS_TCP_PORT)], {
            client: false,
            disableRoleManager: true,
        })
        this.bus = bus
        // streamingInterval: the sensor streams a sample every 100 ms, like a real Jacdac sensor
        this.light = new jd.SensorServer<[number]>(jd.SRV_LIGHT_LEVEL, {
            readingValues: [toRatio(this.initialLight)],
            streamingInterval: 100,
        })
        this.bulb = new jd.JDServiceServer(jd.SRV_LIGHT_BULB, { intensityValues: [0] })
        const intensity = this.bulb.register(jd.LightBulbReg.Brightness)
        intensity.on(jd.CHANGE, () => this.emitLed())
        // one virtual device with both services, like a board with a sensor and an LED wired to it
        jd.addServiceProvider(bus, {
            name: "nightlight hardware",
            serviceClasses: [jd.SRV_LIGHT_LEVEL, jd.SRV_LIGHT_BULB],
            services: () => [this.light!, this.bulb!],
        })
        // "background": jacdac-ts keeps socket errors to itself; on Ctrl+C the devtools die first, so the
        // ECONNRESET is expected. A devtools that dies on its own is reported by SimulatedNightlight.
        muteJacdacChatter()
        await bus.connect(true)
    }

    /** The bus, for deploying the firmware to the VM on it. */
    get jacdacBus(): JDBus {
        if (!this.bus) throw new Error("virtual hardware not started")
        return this.bus
    }

    /** Sets the light the sensor sees, in the lesson's units (0..1023). */
    setLight(light: number): void {
        this.light?.reading.setValues([toRatio(light)])
    }

    get ledOn(): boolean {
        const [value] = (this.bulb?.register(jd.LightBulbReg.Brightness).values() as [number]) ?? [0]
        return value > 0
    }

    onLedChange(listener: (on: boolean) => void): void {
        this.ledListeners.push(listener)
    }

    async stop(): Promise<void> {
        const bus = this.bus
        this.bus = undefined
        if (!bus) return
        try {
            await bus.disconnect()
            await bus.dispose()
        } finally {
            unmuteJacdacChatter()
        }
    }

    private emitLed() {
        const on = this.ledOn
        if (on === this.lastLed) return
        this.lastLed = on
        for (const listener of this.ledListeners) listener(on)
    }
}

/**
 * jacdac-ts announces "tcp: connecting", "tcp: disconnecting" (when the devtools die on Ctrl+C, before
 * we stop the bus) and the like with console.debug, which would land in the middle of the server's log;
 * our own lines go through the logger. Muted while any virtual hardware runs.
 */
let muted = 0
let consoleDebug: typeof console.debug | undefined

function muteJacdacChatter(): void {
    if (muted++ > 0) return
    consoleDebug = console.debug
    console.debug = () => {}
}

function unmuteJacdacChatter(): void {
    if (--muted > 0 || !consoleDebug) return
    console.debug = consoleDebug
    consoleDebug = undefined
}

/** Lesson units → the u0.16 ratio a Jacdac light-level sensor reports. */
export function toRatio(light: number): number {
    return Math.min(Math.max(light, 0), LIGHT_MAX) / LIGHT_MAX
}
