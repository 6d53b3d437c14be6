/**
 * Home Assistant discovery (docs/home-assistant.md): two retained configs per device, a switch becomes an
 * override. A device deleted in Home Assistant stays out, across restarts, until restore().
 */
import { printable, type Logger } from "../util/logger"
import { isValidTopicName, type MessageBus, type PublishOptions } from "../mqtt/message-bus"
import { isValidDeviceId } from "../protocol/contract"
import {
    HA_DEFAULTS,
    PREFIX_PATTERN,
    SET_TOPIC_FILTER,
    birthStatusId,
    configFilters,
    configTopics,
    discoveryConfigs,
    parseSwitch,
} from "./config"

export {
    HA_DEFAULTS,
    SET_TOPIC_FILTER,
    TEMPLATES,
    birthStatusId,
    configFilters,
    configTopics,
    discoveryConfigs,
    objectKey,
    parseSwitch,
    setTopic,
    type DiscoveryConfig,
} from "./config"

export interface DiscoveryHost {
    deviceIds(): string[]
    on(event: "telemetry" | "status", listener: (event: { deviceId: string }) => void): unknown
    off(event: "telemetry" | "status", listener: (event: { deviceId: string }) => void): unknown
    override(deviceId: string, ledOn: boolean): boolean
}

export interface RemovedDevicesStore {
    load(): unknown
    save(deviceIds: string[]): void
}

export interface HomeAssistantDiscoveryOptions {
    bus: MessageBus
    host: DiscoveryHost
    logger: Logger
    prefix?: string
    /** Home Assistant's birth topic; HA_DEFAULTS.birthTopic, whatever the prefix. */
    birthTopic?: string
    expireAfterS?: number
    maxDevices?: number
    /** Without it, a device deleted in Home Assistant is left out until the server restarts. */
    removedStore?: RemovedDevicesStore
}

export interface DiscoveryView {
    enabled: true
    prefix: string
    birthTopic: string
    /** Sorted. */
    removed: string[]
}

export const bringBackHint = (deviceId: string) => `dashboard, or PUT /api/home-assistant/devices/${deviceId}`

/** Retained, so Home Assistant gets the configs whenever it (re)subscribes; QoS 1, so an external broker gets them. */
const CONFIG_DELIVERY: PublishOptions = { qos: 1, retain: true }

type IgnoredKind = "bad_id" | "bad_payload" | "unknown_device" | "too_many" | "too_many_removed"

export class HomeAssistantDiscovery {
    private readonly bus: MessageBus
    private readonly host: DiscoveryHost
    private readonly log: Logger
    readonly prefix: string
    readonly birthTopic: string
    /** The device id the birth topic would be taken for (`<id>/status`), if it has that shape. */
    private readonly birthStatusId: string | undefined
    private readonly expireAfterS: number
    private readonly maxDevices: number
    private readonly removedStore: RemovedDevicesStore | undefined
    private readonly announced = new Set<string>()
    /** The config topics of the announced devices → their id: a deletion in Home Assistant clears one. */
    private readonly byConfigTopic = new Map<string, string>()
    /** At most maxDevices. */
    private readonly removed = new Set<string>()
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
        const birthTopic = options.birthTopic ?? HA_DEFAULTS.birthTopic
        if (!PREFIX_PATTERN.test(birthTopic))
            throw new TypeError(
                `Home Assistant birth topic ${JSON.stringify(birthTopic)}: expected levels of [A-Za-z0-9_-]`
            )
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
        this.birthTopic = birthTopic
        this.birthStatusId = birthStatusId(birthTopic)
        this.expireAfterS = expireAfterS
        this.maxDevices = maxDevices
        this.removedStore = options.removedStore
        this.loadRemoved()
    }

    view(): DiscoveryView {
        return { enabled: true, prefix: this.prefix, birthTopic: this.birthTopic, removed: [...this.removed].sort() }
    }

    /** May start before the bus; a config that cannot be published is tried again on the device's next event. */
    async start(): Promise<void> {
        if (this.running) return
        this.running = true
        if (!this.subscribed) {
            // The bus has no unsubscribe: the handlers stay and check `running`.
            this.subscribed = true
            // shared: with several servers on the broker (docs/scale-out.md), one of them switches the LED
            await this.bus.subscribe(SET_TOPIC_FILTER, (topic, payload) => this.onSet(topic, payload), { shared: true })
            await this.bus.subscribe(this.birthTopic, (_topic, payload) => this.onBirth(payload))
            for (const filter of configFilters(this.prefix))
                await this.bus.subscribe(filter, (topic, payload) => this.onConfig(topic, payload))
        }
        this.host.on("telemetry", this.onDeviceEvent)
        this.host.on("status", this.onDeviceEvent)
        this.log.info(
            `Home Assistant discovery under ${this.prefix}/; its birth taken from ${this.birthTopic}, ` +
                `switches from ${SET_TOPIC_FILTER}`
        )
        if (this.removed.size > 0)
            this.log.info(
                `left out of Home Assistant, as deleted there: ${[...this.removed].sort().join(", ")} ` +
                    `(to bring one back: ${bringBackHint("<id>")})`
            )
        await Promise.all(this.host.deviceIds().map(id => this.announce(id)))
    }

    /** The retained configs stay, so Home Assistant keeps the entities while the server restarts. */
    async stop(): Promise<void> {
        if (!this.running) return
        this.running = false
        this.host.off("telemetry", this.onDeviceEvent)
        this.host.off("status", this.onDeviceEvent)
        await Promise.all([...this.inFlight])
    }

    /** Empty retained configs, as Home Assistant's own delete; rejected or not, it is left out. */
    async forget(deviceId: string): Promise<void> {
        if (!isValidDeviceId(deviceId))
            throw new TypeError(`cannot forget ${JSON.stringify(deviceId)}: not a device id`)
        this.leaveOut(deviceId)
        const where = configTopics(this.prefix, deviceId)
        await Promise.all([where.sensor, where.light].map(topic => this.bus.publish(topic, "", CONFIG_DELIVERY)))
        // (not kept as removed when too many are: leaveOut warned that it comes back)
        if (this.removed.has(deviceId))
            this.log.info(`removed ${deviceId} from Home Assistant (to bring it back: ${bringBackHint(deviceId)})`)
    }

    /** The caller checks that the server knows the device. */
    async restore(deviceId: string): Promise<void> {
        if (!isValidDeviceId(deviceId))
            throw new TypeError(`cannot bring back ${JSON.stringify(deviceId)}: not a device id`)
        if (this.removed.delete(deviceId)) {
            this.saveRemoved()
            this.log.info(`${deviceId} is brought back to Home Assistant`)
        }
        this.announced.delete(deviceId) // announced again even if it was not removed: that is what was asked
        await this.announce(deviceId)
    }

    /** Once per run. Never rejects. */
    private announce(deviceId: string): Promise<void> {
        if (!this.running || this.announced.has(deviceId) || !isValidDeviceId(deviceId)) return Promise.resolve()
        // Home Assistant's birth message (`homeassistant/status` by default) looks like a device's status.
        if (deviceId === this.birthStatusId) return Promise.resolve()
        if (this.removed.has(deviceId)) return Promise.resolve()
        if (this.announced.size >= this.maxDevices) {
            this.ignore("too_many", `not announcing ${deviceId}: ${this.maxDevices} devices are announced already`)
            return Promise.resolve()
        }
        this.announced.add(deviceId)
        const where = configTopics(this.prefix, deviceId)
        this.byConfigTopic.set(where.sensor, deviceId).set(where.light, deviceId)
        return this.publishConfigs(deviceId, "announced")
    }

    /** An empty retained config of a device we announced is a deletion in Home Assistant. */
    private onConfig(topic: string, payload: Buffer): void {
        if (!this.running || payload.length !== 0) return
        const deviceId = this.byConfigTopic.get(topic)
        if (deviceId === undefined) return
        if (!this.leaveOut(deviceId)) return
        this.log.info(
            `${deviceId} was deleted in Home Assistant: not announced again until brought back ` +
                `(${bringBackHint(deviceId)})`
        )
    }

    /** For this run and the next ones (if there is room to keep it). */
    private leaveOut(deviceId: string): boolean {
        this.announced.delete(deviceId)
        const where = configTopics(this.prefix, deviceId)
        this.byConfigTopic.delete(where.sensor)
        this.byConfigTopic.delete(where.light)
        if (this.removed.has(deviceId)) return false
        if (this.removed.size >= this.maxDevices) {
            this.ignore(
                "too_many_removed",
                `${deviceId} is removed from Home Assistant, but ${this.maxDevices} devices are kept as removed ` +
                    "already: it comes back at its next event"
            )
            return false
        }
        this.removed.add(deviceId)
        this.saveRemoved()
        return true
    }

    private loadRemoved(): void {
        if (!this.removedStore) return
        const saved = this.removedStore.load()
        if (saved === undefined) return
        const ids = Array.isArray(saved) ? saved.filter(id => typeof id === "string" && isValidDeviceId(id)) : []
        if (!Array.isArray(saved) || ids.length !== saved.length)
            this.log.warn("ignored what is not a device id in the saved list of devices deleted in Home Assistant")
        for (const id of ids.slice(0, this.maxDevices)) this.removed.add(id)
    }

    private saveRemoved(): void {
        try {
            this.removedStore?.save([...this.removed].sort())
        } catch (err) {
            this.log.warn(`could not save the devices deleted in Home Assistant: ${(err as Error).message}`)
        }
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
                for (const topic of Object.values(configTopics(this.prefix, deviceId))) this.byConfigTopic.delete(topic)
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

    /** Configs again, as Home Assistant's docs recommend; also covers a broker that lost its retained ones. */
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

    private ignore(kind: IgnoredKind, line: string): void {
        if (this.warned.has(kind)) return this.log.debug(line)
        this.warned.add(kind)
        this.log.warn(`${line} (more like this at debug level)`)
    }
}
