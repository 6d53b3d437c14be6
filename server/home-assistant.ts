/**
 * Optional Home Assistant MQTT discovery (issue 4). Each nightlight appears in Home Assistant as one
 * device with two entities: a light-level sensor and a light (its LED). Both are available while the
 * device is. The entities read the nightlight's own topics (`<id>/telemetry`, `<id>/commands`,
 * `<id>/status`), so all this module publishes is two retained configs per device. Switching the light
 * in Home Assistant publishes ON or OFF to `nightlight/<id>/set`, and that becomes a manual override on
 * the server (DiscoveryHost.override).
 *
 * The configs and their topics are built in home-assistant-config.ts (pure, re-exported here); this
 * module publishes them, sends them again when Home Assistant restarts, and takes the switches.
 *
 * It follows the Home Assistant documentation:
 *   https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery (topics, payload, origin, availability, birth)
 *   https://www.home-assistant.io/integrations/sensor.mqtt/ and https://www.home-assistant.io/integrations/light.mqtt/
 *   (default schema).
 * docs/home-assistant.md is the user's guide.
 */
import { printable, type Logger } from "./logger"
import { isValidTopicName, type MessageBus, type PublishOptions } from "./message-bus"
import { isValidDeviceId } from "./protocol"
import {
    HA_DEFAULTS,
    PREFIX_PATTERN,
    SET_TOPIC_FILTER,
    configTopics,
    discoveryConfigs,
    parseSwitch,
} from "./home-assistant-config"

export {
    HA_DEFAULTS,
    SET_TOPIC_FILTER,
    TEMPLATES,
    configTopics,
    discoveryConfigs,
    objectKey,
    parseSwitch,
    setTopic,
    type DiscoveryConfig,
} from "./home-assistant-config"

/** What the discovery needs from the server. NightlightServer implements it. */
export interface DiscoveryHost {
    deviceIds(): string[]
    on(event: "telemetry" | "status", listener: (event: { deviceId: string }) => void): unknown
    off(event: "telemetry" | "status", listener: (event: { deviceId: string }) => void): unknown
    /** Sends the device this LED state until the automatic decision next changes; false for an unknown device. */
    override(deviceId: string, ledOn: boolean): boolean
}

export interface HomeAssistantDiscoveryOptions {
    bus: MessageBus
    host: DiscoveryHost
    logger: Logger
    prefix?: string
    expireAfterS?: number
    maxDevices?: number
}

/** Retained, so Home Assistant gets the configs whenever it (re)subscribes; QoS 1, so an external broker gets them. */
const CONFIG_DELIVERY: PublishOptions = { qos: 1, retain: true }

type IgnoredKind = "bad_id" | "bad_payload" | "unknown_device" | "too_many"

export class HomeAssistantDiscovery {
    private readonly bus: MessageBus
    private readonly host: DiscoveryHost
    private readonly log: Logger
    readonly prefix: string
    private readonly expireAfterS: number
    private readonly maxDevices: number
    /** Devices whose configs went out in this run, or are on their way. */
    private readonly announced = new Set<string>()
    private readonly inFlight = new Set<Promise<void>>()
    /** Kinds of ignored input already warned about; repeats go to debug. */
    private readonly warned = new Set<IgnoredKind>()
    private running = false
    private subscribed = false
    private publishFailing = false
    private readonly onDeviceEvent = (event: { deviceId: string }) => void this.announce(event.deviceId)

    constructor(options: HomeAssistantDiscoveryOptions) {
        const prefix = options.prefix ?? HA_DEFAULTS.prefix
        if (!PREFIX_PATTERN.test(prefix))
            throw new TypeError(`Home Assistant prefix ${JSON.stringify(prefix)}: expected levels of [A-Za-z0-9_-]`)
        const expireAfterS = options.expireAfterS ?? HA_DEFAULTS.expireAfterS
        if (!Number.isSafeInteger(expireAfterS) || expireAfterS < 0)
            throw new TypeError(`expireAfterS ${expireAfterS}: expected whole seconds, 0 for never`)
        const maxDevices = options.maxDevices ?? HA_DEFAULTS.maxDevices
        if (!Number.isSafeInteger(maxDevices) || maxDevices < 1)
            throw new TypeError(`maxDevices ${maxDevices}: expected a whole number from 1`)
        this.bus = options.bus
        this.host = options.host
        this.log = options.logger.child({ component: "home-assistant" })
        this.prefix = prefix
        this.expireAfterS = expireAfterS
        this.maxDevices = maxDevices
    }

    /**
     * Listens for switches and for Home Assistant's birth message. Publishes the configs of the devices
     * the host knows now (resolves once they went out) and of each new one on its first event. It may
     * start before the bus, like the controller. A config that cannot be published (the bus is not
     * started, the broker is away) is tried again on the device's next event.
     */
    async start(): Promise<void> {
        if (this.running) return
        this.running = true
        if (!this.subscribed) {
            // The bus has no unsubscribe: the handlers stay and check `running`.
            this.subscribed = true
            // shared: with several servers on the broker (docs/scale-out.md), one of them switches the LED
            await this.bus.subscribe(SET_TOPIC_FILTER, (topic, payload) => this.onSet(topic, payload), { shared: true })
            await this.bus.subscribe(`${this.prefix}/status`, (_topic, payload) => this.onBirth(payload))
        }
        this.host.on("telemetry", this.onDeviceEvent)
        this.host.on("status", this.onDeviceEvent)
        this.log.info(`Home Assistant discovery under ${this.prefix}/; switches taken from ${SET_TOPIC_FILTER}`)
        await Promise.all(this.host.deviceIds().map(id => this.announce(id)))
    }

    /**
     * Stops announcing and switching. The retained configs stay, so Home Assistant keeps the entities
     * while the server restarts (they show unavailable if the devices go offline meanwhile).
     */
    async stop(): Promise<void> {
        if (!this.running) return
        this.running = false
        this.host.off("telemetry", this.onDeviceEvent)
        this.host.off("status", this.onDeviceEvent)
        await Promise.all([...this.inFlight])
    }

    /**
     * Removes a device from Home Assistant by publishing an empty retained config for each entity.
     * Rejects if the broker did not take them. The device comes back with its next event in this run,
     * and at the next start if the server still knows it (docs/home-assistant.md, "Stopping and removing").
     */
    async forget(deviceId: string): Promise<void> {
        if (!isValidDeviceId(deviceId))
            throw new TypeError(`cannot forget ${JSON.stringify(deviceId)}: not a device id`)
        this.announced.delete(deviceId)
        const where = configTopics(this.prefix, deviceId)
        await Promise.all([where.sensor, where.light].map(topic => this.bus.publish(topic, "", CONFIG_DELIVERY)))
        this.log.info(`removed ${deviceId} from Home Assistant`)
    }

    /** Publishes a device's configs once per run. Never rejects. */
    private announce(deviceId: string): Promise<void> {
        if (!this.running || this.announced.has(deviceId) || !isValidDeviceId(deviceId)) return Promise.resolve()
        // Home Assistant's birth message, `homeassistant/status`, looks like a device's status topic.
        if (deviceId === this.prefix) return Promise.resolve()
        if (this.announced.size >= this.maxDevices) {
            this.ignore("too_many", `not announcing ${deviceId}: ${this.maxDevices} devices are announced already`)
            return Promise.resolve()
        }
        this.announced.add(deviceId)
        return this.publishConfigs(deviceId, "announced")
    }

    private publishConfigs(deviceId: string, done: "announced" | "announced again"): Promise<void> {
        const { sensor, light } = discoveryConfigs(deviceId, { prefix: this.prefix, expireAfterS: this.expireAfterS })
        const sent = Promise.all(
            [sensor, light].map(m => this.bus.publish(m.topic, JSON.stringify(m.config), CONFIG_DELIVERY))
        ).then(
            () => {
                if (this.publishFailing) this.log.info("Home Assistant configs go out again")
                this.publishFailing = false
                if (done === "announced") this.log.info(`announced ${deviceId} to Home Assistant`)
                else this.log.debug(`announced ${deviceId} to Home Assistant again`)
            },
            (err: Error) => {
                this.announced.delete(deviceId) // its next event tries again
                const line = `could not announce ${deviceId} to Home Assistant: ${err.message}`
                if (this.publishFailing) this.log.debug(line)
                else this.log.warn(`${line} (tried again on its next event)`)
                this.publishFailing = true
            }
        )
        this.inFlight.add(sent)
        void sent.finally(() => this.inFlight.delete(sent))
        return sent
    }

    /**
     * Home Assistant publishes "online" on `<prefix>/status` when its MQTT integration (re)starts. The
     * documentation recommends sending the configs again then, and that also covers a broker that lost
     * its retained messages.
     */
    private onBirth(payload: Buffer): void {
        if (!this.running || payload.toString() !== "online" || this.announced.size === 0) return
        this.log.info(`Home Assistant (re)started: sending the configs of ${this.announced.size} device(s) again`)
        for (const id of this.announced) void this.publishConfigs(id, "announced again")
    }

    private onSet(topic: string, payload: Buffer): void {
        if (!this.running) return
        // Our own clearing (below) comes back empty, and so does anyone else's; there is nothing to do.
        if (payload.length === 0) return
        const deviceId = topic.split("/")[1]
        if (!isValidDeviceId(deviceId))
            return this.ignore(
                "bad_id",
                `ignored a switch on ${JSON.stringify(printable(topic, 100))}: not a device id`
            )
        const ledOn = parseSwitch(payload)
        if (ledOn === undefined)
            return this.ignore(
                "bad_payload",
                `ignored ${JSON.stringify(printable(payload.toString(), 40))} on ${topic}: expected ON or OFF`
            )
        // The bus cannot tell a retained message from a live one. A retained switch (mosquitto_pub -r)
        // would be applied again at every start and reconnection, so a switch is made one-shot: an empty
        // retained message deletes whatever the broker kept on this topic.
        if (isValidTopicName(topic)) this.bus.publish(topic, "", { retain: true }).catch(() => undefined)
        if (!this.host.override(deviceId, ledOn))
            this.ignore("unknown_device", `ignored a switch for ${deviceId}: the server has not heard of that device`)
    }

    /** Input we cannot use: the first of each kind is a warning, repeats are debug lines. */
    private ignore(kind: IgnoredKind, line: string): void {
        if (this.warned.has(kind)) return this.log.debug(line)
        this.warned.add(kind)
        this.log.warn(`${line} (more like this at debug level)`)
    }
}
