/**
 * One simulated nightlight: the real firmware bytecode in the DeviceScript VM, wired to virtual
 * hardware on the devtools' Jacdac bus, talking MQTT to any broker.
 *
 *   devtools (bus on 127.0.0.1:8081/8082) ── VM running built/xiao_nightlight/bytecode.devs
 *                                        └── VirtualHardware: light sensor + LED (this process)
 */
import { randomBytes } from "node:crypto"
import { EventEmitter } from "node:events"
import { DAYLIGHT_DEFAULTS, daylight } from "./daylight"
import { deployToVm, type DeviceSettings, restartProgram, waitForVm } from "./deploy"
import { simulatorBytecode } from "./firmware"
import { DEVTOOLS_TCP_PORT, VirtualHardware } from "./hardware"
import type { JDDevice } from "./jacdac"
import { type DevsProcess, portIsOpen, spawnDevs, waitForPort } from "./processes"
import { isValidDeviceId, LIGHT_MAX } from "../server/protocol/contract"

/** The few logger methods we use; a pino logger fits. */
export interface SimLog {
    debug(msg: string): void
    info(msg: string): void
    warn(msg: string): void
    error(msg: string): void
}

export interface SimulatedNightlightOptions {
    /** mqtt://host:port or mqtts://host:port, optionally with user:password@. */
    brokerUrl: string
    deviceId: string
    /** A fixed light in lesson units (0..1023), or "daylight" for the day/night cycle. */
    light: "daylight" | number
    logger?: SimLog
    /** Telemetry interval of the firmware (ms); the firmware's default is 2000. */
    reportMs?: number
    /** The server's threshold, so the firmware reports a reading that crosses it at once (default 300). */
    threshold?: number
    /** Length of the day/night cycle (ms). */
    cycleMs?: number
    /** Log the firmware's own lines at info level rather than debug. */
    showFirmwareLog?: boolean
    /** More firmware settings (src/config.ts), e.g. {LOCAL_AFTER: 3000}; they win over the derived ones. */
    settings?: DeviceSettings
}

/** How long each start-up step may take (ms). */
const STARTUP_TIMEOUT_MS = 20_000
const DEVTOOLS_WS_PORT = 8081

const quiet: SimLog = { debug() {}, info() {}, warn() {}, error() {} }

export interface SimulatedNightlightEvents {
    led: [on: boolean]
    light: [light: number]
    /** A line the firmware printed (without the VM's prefix). */
    firmware: [line: string]
}

export class SimulatedNightlight extends EventEmitter<SimulatedNightlightEvents> {
    private readonly log: SimLog
    private readonly settings: DeviceSettings
    private readonly vmDeviceId = randomBytes(8).toString("hex")
    private devtools?: DevsProcess
    private vm?: DevsProcess
    private hardware?: VirtualHardware
    /** The VM on the Jacdac bus, once deployed to. */
    private vmDevice?: JDDevice
    private cycle?: NodeJS.Timeout
    /** When the day/night cycle began (Date.now()): a resumed cycle carries on from its time of day. */
    private cycleStartedAt?: number
    private currentLight: number
    private stopping = false

    constructor(private readonly options: SimulatedNightlightOptions) {
        super()
        this.log = options.logger ?? quiet
        this.settings = firmwareSettings(options)
        this.currentLight = options.light === "daylight" ? daylight(0, options.cycleMs) : options.light
    }

    get light(): number {
        return this.currentLight
    }

    get ledOn(): boolean {
        return this.hardware?.ledOn ?? false
    }

    async start(): Promise<void> {
        try {
            await this.startParts()
        } catch (e) {
            await this.stop()
            throw e
        }
    }

    private async startParts() {
        const bytecode = await simulatorBytecode()
        if ((await portIsOpen(DEVTOOLS_TCP_PORT)) || (await portIsOpen(DEVTOOLS_WS_PORT)))
            throw new Error(
                `DeviceScript devtools is already running on 127.0.0.1:${DEVTOOLS_WS_PORT}/${DEVTOOLS_TCP_PORT} ` +
                    "(VS Code's DeviceScript simulator, or another nightlight simulator). " +
                    "Stop it first (npm start can also skip its simulator with --no-sim)."
            )
        this.devtools = spawnDevs(["devtools"], line => this.log.debug(`devtools: ${line}`))
        this.watchExit(this.devtools, "DeviceScript devtools")
        await waitForPort(DEVTOOLS_TCP_PORT, STARTUP_TIMEOUT_MS, this.devtools.exited)

        const hardware = new VirtualHardware(this.currentLight)
        this.hardware = hardware
        hardware.onLedChange(on => {
            this.log.info(
                `simulated device ${this.options.deviceId}: LED ${on ? "ON" : "off"} (light ${this.currentLight})`
            )
            this.emit("led", on)
        })
        await hardware.start()

        this.vm = spawnDevs(["vm", "--tcp", "--stateless", "--device-id", this.vmDeviceId], line => this.onVmLine(line))
        this.watchExit(this.vm, "DeviceScript VM")
        const vmDevice = await waitForVm(hardware.jacdacBus, this.vmDeviceId, STARTUP_TIMEOUT_MS)
        await deployToVm(vmDevice, bytecode, this.settings)
        this.vmDevice = vmDevice
        this.log.info(
            `simulated device ${this.options.deviceId} started: real firmware in the DeviceScript VM, broker ${redact(this.options.brokerUrl)}`
        )
        if (this.options.light === "daylight") this.startDaylight()
    }

    /**
     * Holds the light the virtual sensor sees (lesson units), which stops the day/night cycle; "daylight"
     * resumes it. The switches between the two are logged: holding says how to get the cycle back.
     */
    setLight(light: number | "daylight"): void {
        if (light === "daylight") {
            if (this.cycle !== undefined || this.stopping) return
            this.log.info(`simulated device ${this.options.deviceId}: the light now follows the day/night cycle`)
            this.startDaylight(true)
            return
        }
        if (!Number.isFinite(light) || light < 0 || light > LIGHT_MAX)
            throw new RangeError(`light must be in 0..${LIGHT_MAX}, got ${light}`)
        if (this.cycle !== undefined)
            this.log.info(
                `simulated device ${this.options.deviceId}: light held at ${light}, the day/night cycle paused ` +
                    `(the dashboard's "Day/night cycle" button or PUT /api/sim/light {"light": "daylight"} resumes it)`
            )
        this.stopDaylight()
        this.applyLight(light)
    }

    /** A reset: the firmware starts again in the same VM, keeping the settings it wrote (restartProgram). */
    async reboot(): Promise<void> {
        if (!this.vmDevice) throw new Error("the simulated device is not running")
        await restartProgram(this.vmDevice)
    }

    async stop(): Promise<void> {
        this.stopping = true
        this.stopDaylight()
        await this.vm?.stop()
        await this.hardware?.stop()
        await this.devtools?.stop()
        this.vm = this.hardware = this.devtools = this.vmDevice = undefined
    }

    private applyLight(light: number) {
        this.currentLight = light
        this.hardware?.setLight(light)
        this.emit("light", light)
    }

    /** A step of the cycle every DAYLIGHT_DEFAULTS.stepMs; `now`: its light at once (a resumed cycle). */
    private startDaylight(now = false) {
        const started = (this.cycleStartedAt ??= Date.now())
        const cycleMs = this.options.cycleMs ?? DAYLIGHT_DEFAULTS.cycleMs
        const step = () => this.applyLight(daylight(Date.now() - started, cycleMs))
        if (now) step()
        this.cycle = setInterval(step, DAYLIGHT_DEFAULTS.stepMs)
    }

    private stopDaylight() {
        clearInterval(this.cycle)
        this.cycle = undefined
    }

    private onVmLine(line: string) {
        const text = line.replace(/^WASM> /, "")
        if (!text.startsWith("nightlight: ")) return this.log.debug(`vm: ${text}`)
        const message = text.slice("nightlight: ".length)
        this.emit("firmware", message)
        if (/error|ignored|failed/.test(message)) this.log.warn(`firmware: ${message}`)
        else if (this.options.showFirmwareLog) this.log.info(`firmware: ${message}`)
        else this.log.debug(`firmware: ${message}`)
    }

    private watchExit(child: DevsProcess, name: string) {
        void child.exited.then(code => {
            if (!this.stopping) this.log.error(`${name} exited unexpectedly (${code}); the simulated device is gone`)
        })
    }
}

/** The firmware's settings (src/config.ts) for this broker URL and device. */
export function firmwareSettings(
    options: Pick<SimulatedNightlightOptions, "brokerUrl" | "deviceId" | "reportMs" | "threshold" | "settings">
): DeviceSettings {
    if (!isValidDeviceId(options.deviceId))
        throw new Error(`device id "${options.deviceId}": use 1-64 letters, digits, "-", "_", "." or ":"`)
    let url: URL
    try {
        url = new URL(options.brokerUrl)
    } catch {
        throw new Error(`broker URL "${options.brokerUrl}" is not a URL; expected mqtt://host:port`)
    }
    const proto = { "mqtt:": "tcp", "tcp:": "tcp", "mqtts:": "tls", "ssl:": "tls" }[url.protocol]
    if (!proto)
        throw new Error(
            `broker URL "${options.brokerUrl}": the firmware speaks MQTT over TCP or TLS only (mqtt:// or mqtts://)`
        )
    const settings: DeviceSettings = {
        DEVICE_ID: options.deviceId,
        MQTT_HOST: url.hostname.replace(/^\[|\]$/g, ""),
        MQTT_PORT: url.port ? Number(url.port) : proto === "tls" ? 8883 : 1883,
        MQTT_PROTO: proto,
    }
    if (url.username) settings.MQTT_USER = decodeURIComponent(url.username)
    if (url.password) settings.MQTT_PASS = decodeURIComponent(url.password)
    if (options.reportMs !== undefined) settings.REPORT_MS = options.reportMs
    if (options.threshold !== undefined) settings.THRESHOLD = options.threshold
    return { ...settings, ...options.settings }
}

function redact(brokerUrl: string): string {
    return brokerUrl.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@")
}
