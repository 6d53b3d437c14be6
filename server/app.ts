/** Puts the server together from settings; main.ts adds signals and the simulated device, tests start this. */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { StatsResponse } from "./http/api-types"
import { NightlightServer } from "./controller/nightlight-server"
import { ACK_INTERVAL_MS } from "./controller/ack-sender"
import { DEVICE_DEFAULTS_KEY, DashboardBackend, groupRuleKey, type SimulatorHandle } from "./http/dashboard-backend"
import { startEmbeddedBroker, type SecuredBroker } from "./mqtt/broker-setup"
import { BrokerStartError, type EmbeddedBroker } from "./mqtt/embedded-broker"
import { DEFAULT_BAND, DEFAULT_DEVICE_CONFIG, DEVICE_CONFIG_RANGES } from "./protocol/contract"
import { EmbeddedBus } from "./mqtt/embedded-bus"
import { applyRulePatch, loadGroupsFile, type GroupConfig } from "./groups/config"
import { HomeAssistantDiscovery, birthStatusId } from "./home-assistant/discovery"
import { isLoopback } from "./auth/exposure"
import { generateToken, loadOrCreateToken } from "./http/access"
import { HttpServer } from "./http/http-server"
import type { Logger } from "./util/logger"
import type { MessageBus } from "./mqtt/message-bus"
import { MqttClientBus } from "./mqtt/client-bus"
import { Recorder } from "./recorder"
import { LoopStalls } from "./util/loop-stalls"
import { DEFAULTS, type Settings } from "./config/settings"
import { Store } from "./store"
import { DataDirLock } from "./store/data-dir-lock"
import type { CheckpointSettings } from "./store/checkpoints"

export const DATABASE_FILE = "nightlight.db"
/** The dashboard's access token inside --data-dir, when it listens beyond loopback. */
export const HTTP_TOKEN_FILE = "http-token"
export const HA_REMOVED_KEY = "homeAssistant.removed"

export interface RunningServer {
    controller: NightlightServer
    bus: MessageBus
    /** Present when the broker is our own. */
    broker?: EmbeddedBroker
    store: Store
    /** Present unless --no-dashboard. */
    http?: HttpServer
    loginsRequired: boolean
    /** With credentials when logins are needed. */
    deviceUrl(deviceId: string): Promise<string>
    /** The simulated device the dashboard's slider moves (main.ts attaches it once it runs). */
    attachSimulator(sim: SimulatorHandle): void
    brokerUrl: string
    /** GET /api/stats (http: {} without the dashboard). */
    stats(): StatsResponse
    stop(): Promise<void>
}

export interface StartOptions {
    /** ms; for tests of outages. */
    reconnectPeriodMs?: number
    /** Default CHECKPOINTS; for tests of the WAL's reset. */
    checkpoints?: Partial<CheckpointSettings>
}

/** What startServer needs; tests leave out the optional parts (then: history in memory, no HTTP). */
export type ServerSettings = Pick<Settings, "broker" | "threshold"> &
    Partial<
        Pick<Settings, "band" | "dataDir" | "retentionDays" | "http" | "groupsFile" | "homeAssistant" | "maxDevices">
    >

/** Holds the data folder's lock from before the store opens until it stops. */
export async function startServer(
    settings: ServerSettings,
    logger: Logger,
    options: StartOptions = {}
): Promise<RunningServer> {
    const lock =
        settings.dataDir === undefined
            ? undefined
            : DataDirLock.acquire(settings.dataDir, stale => logger.warn(`replaced the lock ${stale}`))
    try {
        const server = await startParts(settings, logger, options)
        return {
            ...server,
            async stop() {
                await server.stop()
                lock?.release()
            },
        }
    } catch (error) {
        lock?.release()
        throw error
    }
}

async function startParts(settings: ServerSettings, logger: Logger, options: StartOptions): Promise<RunningServer> {
    // Configuration first: a bad groups file or database stops the start before anything listens.
    const groupConfigs = settings.groupsFile ? loadGroupsFile(settings.groupsFile) : []
    const store = new Store(settings.dataDir === undefined ? ":memory:" : join(settings.dataDir, DATABASE_FILE), {
        retentionMs: (settings.retentionDays ?? 30) * 24 * 60 * 60 * 1000,
        onError: err => logger.warn(`history store: ${err.message}`),
        checkpoints: options.checkpoints,
    })
    store.open()
    const rules = resolveRules(store, settings, groupConfigs, logger)
    // the rule from now on: the chart of the time before keeps the band it had then
    store.settingsLog.record(Date.now(), { threshold: rules.threshold, band: rules.band })
    const token = settings.http?.enabled
        ? await httpToken(settings.http, settings.dataDir, logger).catch(error => {
              store.close()
              throw error
          })
        : undefined

    const haBirthTopic = settings.homeAssistant?.birthTopic ?? DEFAULTS.haBirthTopic
    const birthId = birthStatusId(haBirthTopic)
    let secured: SecuredBroker | undefined
    let broker: EmbeddedBroker | undefined
    let bus: MessageBus
    let brokerUrl: string
    if (settings.broker.kind === "embedded") {
        const haPrefix = settings.homeAssistant?.prefix ?? DEFAULTS.haPrefix
        secured = await startEmbeddedBroker(settings.broker, settings.dataDir, haPrefix, logger, haBirthTopic).catch(
            error => {
                store.close()
                throw error
            }
        )
        broker = secured.broker
        brokerUrl = broker.url
        bus = new EmbeddedBus(broker, logger)
    } else {
        brokerUrl = settings.broker.url
        const { username, password, caFile, shareGroup } = settings.broker
        bus = new MqttClientBus({
            url: brokerUrl,
            logger,
            reconnectPeriodMs: options.reconnectPeriodMs,
            username,
            password,
            ca: caFile === undefined ? undefined : readPem(caFile, store),
            shareGroup,
        })
        if (shareGroup !== undefined)
            logger.info(
                `sharing the telemetry with the other servers of share group "${shareGroup}" (MQTT 5): ` +
                    "each reading is handled by one of them, and this server's history holds the ones it handled"
            )
    }
    const sharing = settings.broker.kind === "external" && settings.broker.shareGroup !== undefined
    // The recorder stores readings before they are acknowledged (an ack promises they are stored).
    let recorder: Recorder | undefined
    const controller = new NightlightServer({
        bus,
        logger,
        threshold: rules.threshold,
        band: rules.band,
        groups: rules.groups,
        maxDevices: settings.maxDevices,
        deviceDefaults: rules.deviceDefaults,
        deviceConfigStore: store.deviceConfigs,
        deviceRuleLog: {
            inForce: () => store.deviceRuleLog.inForce(),
            record: (at, changes) => {
                try {
                    store.deviceRuleLog.record(at, changes)
                } catch (err) {
                    // the change stands; only the chart of this moment draws the band it had before
                    logger.error({ err }, "could not record the devices' own rules")
                }
            },
        },
        beforeAcks: links => recorder?.beforeAcks(links),
        storeBusy: () => store.writesWait,
        // In a share group a device's readings are split between servers, and each server's ack waits for the
        // others' (docs/scale-out.md): spaced acks would add up along the way.
        ackIntervalMs: sharing ? ACK_INTERVAL_MS : undefined,
        // Home Assistant's birth topic, when it looks like a device's status topic
        notDevices: birthId === undefined ? [] : [birthId],
    })
    const known = store.registry.list()
    controller.restore(known.flatMap(r => (r.link ? [{ deviceId: r.id, link: r.link }] : [])))
    controller.knownDevices(known.map(r => r.id))
    recorder = new Recorder(controller, store, logger)
    const backend = new DashboardBackend(controller, store, logger)
    if (secured) backend.attachBrokerStats(() => secured.stats())
    const http = settings.http?.enabled
        ? new HttpServer({
              backend,
              host: settings.http.host,
              port: settings.http.port,
              logger,
              token,
          })
        : undefined
    const homeAssistant = settings.homeAssistant?.enabled
        ? new HomeAssistantDiscovery({
              bus,
              host: controller,
              logger,
              prefix: settings.homeAssistant.prefix,
              birthTopic: haBirthTopic,
              removedStore: {
                  load: () => store.settings.get(HA_REMOVED_KEY),
                  save: ids => store.settings.set(HA_REMOVED_KEY, ids),
              },
          })
        : undefined
    if (homeAssistant) backend.attachHomeAssistant(homeAssistant)
    if (bus instanceof MqttClientBus) {
        // the first "online" is the start; later ones follow an outage the broker may not have survived whole
        let connectedBefore = false
        bus.on("online", () => {
            // the broker may have restarted without its retained messages: the configs go again
            controller.publishConfigs()
            if (connectedBefore) controller.brokerReconnected()
            connectedBefore = true
        })
    }

    const loopStalls = new LoopStalls(logger)
    const stop = async () => {
        loopStalls.stop()
        await http?.stop()
        await homeAssistant?.stop()
        await controller.stop()
        recorder.stop()
        await bus.stop()
        await secured?.stop()
        store.close()
    }
    try {
        recorder.start()
        // Subscribe first, so the bus makes the subscription as soon as it connects.
        await controller.start()
        await homeAssistant?.start()
        await bus.start()
        // the embedded broker keeps retained messages in memory: each start sends the configs again
        if (!(bus instanceof MqttClientBus)) controller.publishConfigs()
        await http?.start()
        loopStalls.start()
    } catch (error) {
        await stop().catch(() => undefined)
        throw error
    }
    return {
        controller,
        bus,
        broker,
        brokerUrl,
        store,
        http,
        attachSimulator: sim => backend.attachSimulator(sim),
        deviceUrl: deviceId => secured?.deviceUrl(deviceId) ?? Promise.resolve(brokerUrl),
        loginsRequired: secured?.loginsRequired ?? false,
        stats: () => ({ ...backend.stats(), http: { ...http?.stats() } }),
        stop,
    }
}

function readPem(file: string, store: Store): Buffer {
    try {
        return readFileSync(file)
    } catch (err) {
        store.close()
        throw new BrokerStartError(`cannot read the CA file ${file} (--mqtt-ca): ${(err as Error).message}`)
    }
}

/** On loopback none, like the broker; else the configured one or the one kept in the data folder. */
async function httpToken(
    http: NonNullable<ServerSettings["http"]>,
    dataDir: string | undefined,
    logger: Logger
): Promise<string | undefined> {
    if (http.token !== undefined) return http.token
    if (isLoopback(http.host)) return undefined
    if (dataDir === undefined) return generateToken()
    const file = join(dataDir, HTTP_TOKEN_FILE)
    const { token, created } = await loadOrCreateToken(file)
    if (created) logger.info(`made an access token for the dashboard on ${http.host}: ${file}`)
    return token
}

/** Configured, unless changed at run time since it was last configured (SavedSettings.resolve). */
function resolveRules(store: Store, settings: ServerSettings, groups: GroupConfig[], logger: Logger) {
    const saved = store.settings
    const threshold = saved.resolve("threshold", settings.threshold)
    const band = saved.resolve("band", settings.band ?? DEFAULT_BAND)
    const changed = (name: string, value: unknown, configured: unknown) => {
        if (JSON.stringify(value) !== JSON.stringify(configured))
            logger.info(
                `${name}: ${JSON.stringify(value)}, as changed at run time (configured: ${JSON.stringify(configured)})`
            )
    }
    changed("threshold", threshold, settings.threshold)
    changed("band", band, settings.band ?? DEFAULT_BAND)
    const resolved = groups.map(g => {
        const rule = saved.resolve(groupRuleKey(g.name), g.rule)
        // a rule changed at run time may not fit members edited in the file since (dark: 6 of 5)
        const fits = applyRulePatch(g, rule)
        if (!fits.ok) {
            logger.warn(
                `group ${g.name}: the rule changed at run time no longer fits (${fits.error}); using the file's`
            )
            saved.set(groupRuleKey(g.name), g.rule)
            return g
        }
        changed(`group ${g.name}`, rule, g.rule)
        return { ...g, rule: fits.rule }
    })
    const { reportMs, minChange, localAfterMs } = DEFAULT_DEVICE_CONFIG
    const deviceDefaults = saved.resolve(DEVICE_DEFAULTS_KEY, { reportMs, minChange, localAfterMs }, isDeviceDefaults)
    return { threshold, band, groups: resolved, deviceDefaults }
}

/** A saved value of PATCH /api/device-config that today's firmware would take. */
function isDeviceDefaults(value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false
    const v = value as Record<string, unknown>
    return (["reportMs", "minChange", "localAfterMs"] as const).every(name => {
        const [min, max] = DEVICE_CONFIG_RANGES[name]
        return Number.isSafeInteger(v[name]) && (v[name] as number) >= min && (v[name] as number) <= max
    })
}
