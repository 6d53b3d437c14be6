/**
 * The nightlight service: light sensor → telemetry, commands → LED, over a link that survives outages.
 * Readings wait in the outbox until the server acknowledges them and go again, in order, after a
 * reconnect; while the server is silent the device switches its LED itself with the server's rule, which
 * the server's config (`<id>/config`) sets along with the report policy.
 * Hardware comes in as Jacdac roles, so the same code runs on a board and in the simulator.
 */
import * as ds from "@devicescript/core"
import { readSetting, writeSetting } from "@devicescript/settings"
import { type Config, readConfig } from "./config"
import { type DeviceConfig, decodeDeviceConfig, refusalText, SERVER_CONFIG_KEY } from "./device-config"
import { decideWithBand, type LastReport, shouldReport, toLessonUnits } from "./light"
import { LinkState } from "./link-state"
import { MqttConnection } from "./mqtt-client"
import { Outbox } from "./outbox"
import { newBootId } from "./random"
import {
    acksTopic,
    type CommandResult,
    commandsTopic,
    configTopic,
    decodeAck,
    decodeCommand,
    deviceClientId,
    encodeTelemetry,
    statusTopic,
    telemetryTopic,
} from "./protocol"

/** How often reports, resends and the server's silence are checked (ms). */
const TICK_MS = 250
/** Readings sent per tick while catching up, so a long backlog does not starve everything else. */
const BATCH = 20

function say(message: string) {
    console.log(`nightlight: ${message}`)
}

/** Starts the nightlight on these roles, with the device's settings unless a config is given. */
export async function startNightlight(
    light: ds.LightLevel,
    led: ds.LightBulb,
    config?: Config
): Promise<MqttConnection> {
    if (!config) config = await readConfig()
    const nightlight = new Nightlight(light, led, config)
    await nightlight.start()
    return nightlight.mqtt
}

/**
 * One device's service. Sensor samples, broker messages and the tick each run in their own fiber;
 * `self` stands for `this` in their handlers, since DeviceScript's arrow functions have no `this`.
 */
export class Nightlight {
    readonly mqtt: MqttConnection
    private readonly id: string
    /** Sequence numbers start again at 1 with each boot; the boot id tells the server which run they count. */
    private readonly boot: string
    private readonly outbox: Outbox
    private readonly link: LinkState
    private ledOn = false
    /** The server is silent: the device switches its LED itself. */
    private local = false
    /** The light now (lesson units); undefined until the first sample. */
    private current: number = undefined
    /** The last reading stored; undefined: the next sample is stored at once. */
    private last: LastReport = undefined
    /** The rule's decision for the last reading stored (shouldReport); undefined: the LED's state. */
    private ruleState: boolean = undefined
    /** A retained command that came before the first light reading: judged once the light is known. */
    private heldRetained: CommandResult = undefined
    /** A pump is sending: another one would send the same readings twice. */
    private pumping = false
    /** The version of the server's config in force; 0: none yet, the settings' values rule. */
    private configVersion = 0
    /** Why the last config was refused (each reading says it); undefined once a newer one is applied. */
    private configError: string = undefined
    /** A config applied and not yet written to the settings store; a write is under way while `keeping`. */
    private configToKeep: string = undefined
    private keeping = false

    constructor(
        private readonly light: ds.LightLevel,
        private readonly led: ds.LightBulb,
        private readonly config: Config
    ) {
        this.id = config.deviceId
        this.boot = newBootId()
        this.outbox = new Outbox(config.outboxSize)
        this.link = new LinkState(ds.millis(), config.localAfterMs)
        this.mqtt = new MqttConnection({
            host: config.host,
            port: config.port,
            proto: config.proto,
            clientId: deviceClientId(this.id),
            username: config.user,
            password: config.password,
            will: { topic: statusTopic(this.id), payload: "offline", qos: 1, retain: true },
            log: (m: string) => say(`broker: ${m}`),
        })
    }

    /** Subscribes to the server's topics and the sensor, starts the tick, then connects. */
    async start() {
        const self = this
        const c = this.config
        say(`device ${this.id} (boot ${this.boot}), broker ${c.proto}://${c.host}:${c.port}`)
        await this.loadServerConfig()
        this.mqtt.onconnect.subscribe(async () => await self.onConnect())
        // Before the commands: the broker hands over retained messages in the order of the subscriptions,
        // so a retained command is judged by the server's rule, not the settings'.
        await this.mqtt.subscribe(
            configTopic(this.id),
            async (topic: string, payload: Buffer) => await self.onConfig(payload),
            1
        )
        // QoS 1: our server's commands are retained with QoS 1, so a reconnecting device gets the current one
        await this.mqtt.subscribe(
            commandsTopic(this.id),
            async (topic: string, payload: Buffer, retained: boolean) => await self.onCommand(payload, retained),
            1
        )
        await this.mqtt.subscribe(
            acksTopic(this.id),
            async (topic: string, payload: Buffer) => await self.onAck(payload)
        )
        this.light.reading.subscribe(async (ratio: number) => await self.onLight(ratio))
        setInterval(async () => await self.tick(), TICK_MS)
        this.mqtt.start()
    }

    private async onConnect() {
        // everything not yet acknowledged goes again, in order, on the new connection
        this.outbox.rewind()
        await this.mqtt.publish(statusTopic(this.id), "online", true)
        await this.pump()
    }

    private async onCommand(payload: Buffer, retained: boolean) {
        const cmd = decodeCommand(payload.toString())
        if (cmd.error) return say(`ignored command: ${cmd.error}`)
        await this.applyCommand(cmd, retained)
    }

    private async onConfig(payload: Buffer) {
        // an empty retained message deletes the config: the one in force stays
        if (payload.length === 0) return
        const text = payload.toString()
        const result = decodeDeviceConfig(text)
        if (result.error !== undefined) {
            this.configError = refusalText(result)
            say(
                `config refused, keeping ${this.configVersion > 0 ? this.configVersion : "the settings"}: ${this.configError}`
            )
            this.last = undefined // report the refusal at once
            return
        }
        if (result.config.version <= this.configVersion) {
            // the one in force again (each reconnect brings it): a refusal since is no longer the server's word
            if (result.config.version === this.configVersion) this.configError = undefined
            return
        }
        this.applyConfig(result.config)
        this.configError = undefined
        this.last = undefined // the server hears the new version at once
        this.keepConfig(text)
    }

    /**
     * Writes the config for the next start in a fiber of its own: the broker's messages are handled one
     * after the other, and a write to flash would hold up the retained command behind it (and the PUBACK).
     */
    private keepConfig(text: string) {
        this.configToKeep = text
        if (this.keeping) return
        this.keeping = true
        const self = this
        setTimeout(async () => await self.writeKeptConfig(), 0)
    }

    private async writeKeptConfig() {
        try {
            // only the newest matters: configs that came during a write are not written one by one
            while (this.configToKeep !== undefined) {
                const text = this.configToKeep
                this.configToKeep = undefined
                await writeSetting(SERVER_CONFIG_KEY, text)
            }
        } catch (e) {
            say(`the config is not kept for the next start: ${e}`)
        } finally {
            this.keeping = false
        }
    }

    /** The config kept by the last run, if any: the `.env` settings rule until one was applied. */
    private async loadServerConfig() {
        let saved: any = undefined
        try {
            saved = await readSetting(SERVER_CONFIG_KEY, undefined)
        } catch (e) {
            return say(`no kept config: ${e}`)
        }
        if (typeof saved !== "string") return
        const result = decodeDeviceConfig(saved)
        if (result.error !== undefined) return say(`kept config refused: ${refusalText(result)}`)
        this.applyConfig(result.config)
    }

    private applyConfig(config: DeviceConfig) {
        const report = this.config.report
        report.threshold = config.threshold
        report.band = config.band
        report.intervalMs = config.reportMs
        report.minChange = config.minChange
        this.config.localAfterMs = config.localAfterMs
        this.link.setLocalAfter(config.localAfterMs)
        this.configVersion = config.version
        say(
            `config ${config.version}: threshold ${config.threshold}, band ${config.band}, report every ` +
                `${config.reportMs} ms or by ${config.minChange}, local after ${config.localAfterMs} ms`
        )
    }

    private async onAck(payload: Buffer) {
        const ack = decodeAck(payload.toString())
        if (ack.error) return say(`ignored ack: ${ack.error}`)
        const now = ds.millis()
        this.link.heard(now)
        // an ack of an earlier boot (retained) still tells us this server stores readings
        this.link.acked(now, ack.boot === this.boot && this.outbox.ack(ack.seq) > 0)
    }

    private async onLight(ratio: number) {
        this.current = toLessonUnits(ratio)
        if (this.heldRetained !== undefined) {
            const cmd = this.heldRetained
            this.heldRetained = undefined
            await this.applyCommand(cmd, true)
        }
        await this.record()
    }

    private async tick() {
        await this.decideLocally()
        await this.record()
        await this.pump()
    }

    private async applyCommand(cmd: CommandResult, retained: boolean) {
        // A retained command is the server's last word, maybe from before a reboot or an outage. One
        // that the server's own rule contradicts for the light now is stale: the server sends a fresh
        // one after the next reading, and the LED does not flash the old state meanwhile. A person's
        // switch is meant to hold against the light: it is applied as it is.
        if (retained && !cmd.manual) {
            if (this.current === undefined) {
                this.heldRetained = cmd
                return
            }
            const { threshold, band } = this.config.report
            // by design, not a fault: worded so the simulator does not report it as a warning
            if (decideWithBand(this.current, cmd.ledOn, threshold, band) !== cmd.ledOn)
                return say(`retained command ${cmd.seq} not applied: stale for the light now (${this.current})`)
        }
        this.link.heard(ds.millis())
        if (!this.link.acceptCommand(cmd.seq)) {
            // every reconnect brings the retained command back: the one applied last is no news
            if (retained && cmd.seq === this.link.lastCommand())
                return say(`retained command ${cmd.seq}: applied already`)
            return say(`ignored stale command ${cmd.seq}: ${this.link.lastCommand()} was applied already`)
        }
        if (cmd.seq > 0) say(`command ${cmd.seq}: LED ${cmd.ledOn ? "on" : "off"}`)
        const changed = cmd.ledOn !== this.ledOn
        await this.setLed(cmd.ledOn, "server")
        // report the switch with the next sample: the server (and its dashboard) see the LED as it is
        // now, not a report interval later
        if (changed) this.last = undefined
    }

    private async setLed(on: boolean, why: string) {
        await this.led.intensity.write(on ? 1 : 0)
        if (this.ledOn !== on) say(`LED ${on ? "on" : "off"} (${why})`)
        this.ledOn = on
    }

    /** Stores a reading when the report policy says so, and sends what is due. */
    private async record() {
        if (this.current === undefined) return
        const now = ds.millis()
        const policy = this.config.report
        const state = this.ruleState === undefined ? this.ledOn : this.ruleState
        if (!shouldReport(this.last, this.current, now, policy, state)) return
        this.outbox.add(now, this.current, this.ledOn, this.local)
        this.last = { light: this.current, at: now }
        this.ruleState = decideWithBand(this.current, state, policy.threshold, policy.band)
        await this.pump()
    }

    /** Sends the next unsent readings, and the unacknowledged ones again when their resend is due. */
    private async pump() {
        if (this.pumping || !this.mqtt.isConnected()) return
        this.pumping = true
        try {
            const outbox = this.outbox
            if (this.link.acking && outbox.size() > outbox.unsent() && this.link.resendDue(ds.millis())) outbox.rewind()
            const batch = outbox.takeUnsent(BATCH)
            let sent = 0
            for (const r of batch) {
                const payload = encodeTelemetry(
                    r,
                    this.boot,
                    outbox.oldestSeq(),
                    outbox.dropped,
                    this.configVersion,
                    this.configError
                )
                if (!(await this.mqtt.publish(telemetryTopic(this.id), payload))) {
                    outbox.untake(batch.length - sent)
                    break
                }
                sent++
            }
            if (sent === 1) say(`light ${batch[0].light} (seq ${batch[0].seq})`)
            else if (sent > 1) say(`sent ${sent} readings, seq ${batch[0].seq}..${batch[sent - 1].seq}`)
            // the lesson's server never acknowledges: what reached the broker is delivered, as in the lesson
            if (!this.link.acking) outbox.clearSent()
        } finally {
            this.pumping = false
        }
    }

    /** The server's silence decides who switches the LED. */
    private async decideLocally() {
        const wasLocal = this.local
        this.local = this.link.isLocal(ds.millis())
        if (this.local !== wasLocal)
            say(this.local ? "the server is silent: deciding locally" : "the server is back in charge")
        if (!this.local || this.current === undefined) return
        const { threshold, band } = this.config.report
        const want = decideWithBand(this.current, this.ledOn, threshold, band)
        if (want === this.ledOn) return
        await this.setLed(want, "local")
        this.last = undefined // report the switch at once
    }
}
