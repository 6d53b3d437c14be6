/**
 * Every option, declared once. Adding one is an entry here (in help order), a row in the README's flag
 * table, and a line in settings.ts. Pure.
 */
import { SESSION_DEFAULTS } from "../auth/session-book"
import { DEFAULT_MAX_DEVICES } from "../controller/events"
import { CONNECTION_LIMITS } from "../mqtt/connection-gate"
import { DEFAULT_BAND, DEFAULT_THRESHOLD, LIGHT_MAX } from "../protocol/contract"
import { integer, onOff, option, type OptionSpec } from "./option-spec"
import { LOG_LEVELS, type LogLevel } from "./types"
import {
    parseDeviceId,
    parseHost,
    parseHostOr,
    parseMqttUrl,
    parseOneOf,
    parsePath,
    parseShareGroup,
    parseToken,
    parseTopicPrefix,
    type Source,
} from "./values"

const path = (source: Source | undefined, fallback: string | undefined) => parsePath(source) ?? fallback

export const OPTIONS = {
    mqttUrl: option<string | undefined>({
        flag: "mqtt-url",
        arg: "URL",
        env: "NIGHTLIGHT_MQTT_URL",
        default: undefined,
        help: [
            "join this broker instead of embedding one",
            "(mqtt:, mqtts:, ws:, wss:; user:password@ allowed)",
            "(its login: NIGHTLIGHT_MQTT_USERNAME and NIGHTLIGHT_MQTT_PASSWORD)",
        ],
        parse: (source, fallback) => (source ? parseMqttUrl(source) : fallback),
    }),
    // The server's login to an external broker: variables only, as a flag would show in `ps`.
    mqttUsername: option<string | undefined>({
        env: "NIGHTLIGHT_MQTT_USERNAME",
        default: undefined,
        help: [],
        onlyFor: "external",
        parse: (source, fallback) => source?.value ?? fallback,
    }),
    mqttPassword: option<string | undefined>({
        env: "NIGHTLIGHT_MQTT_PASSWORD",
        default: undefined,
        help: [],
        onlyFor: "external",
        parse: (source, fallback) => source?.value ?? fallback,
    }),
    mqttCa: option<string | undefined>({
        flag: "mqtt-ca",
        arg: "FILE",
        env: "NIGHTLIGHT_MQTT_CA",
        default: undefined,
        help: ["CA (PEM) to trust for an mqtts:// broker of a private CA"],
        onlyFor: "external",
        parse: path,
    }),
    mqttShareGroup: option<string | undefined>({
        flag: "mqtt-share-group",
        arg: "NAME",
        env: "NIGHTLIGHT_MQTT_SHARE_GROUP",
        default: undefined,
        help: ["share the telemetry with the servers of this group", "(MQTT 5 shared subscription; docs/scale-out.md)"],
        onlyFor: "external",
        parse: (source, fallback) => parseShareGroup(source) ?? fallback,
    }),
    /** Loopback, so letting other machines in is a deliberate choice. */
    mqttHost: option({
        flag: "mqtt-host",
        arg: "HOST",
        env: "NIGHTLIGHT_MQTT_HOST",
        default: "127.0.0.1",
        help: ["embedded broker address (default {default})"],
        parse: (source, fallback) => (source ? parseHost(source) : fallback),
    }),
    /** MQTT's registered port; 0 picks a free one. */
    mqttPort: integer({
        flag: "mqtt-port",
        arg: "PORT",
        env: "NIGHTLIGHT_MQTT_PORT",
        default: 1883,
        min: 0,
        max: 65535,
        help: ["embedded broker port (default {default}; 0 = any free)"],
    }),
    /** Default: users.json in the data folder (mqtt/broker-setup.ts). */
    mqttUsers: option<string | undefined>({
        flag: "mqtt-users",
        arg: "FILE",
        env: "NIGHTLIGHT_USERS",
        default: undefined,
        shown: "data/users.json",
        help: ["who may log in to the broker (default {default})"],
        onlyFor: "embedded",
        parse: path,
    }),
    mqttAllowAnonymous: onOff({
        flag: "mqtt-allow-anonymous",
        env: "NIGHTLIGHT_MQTT_ALLOW_ANONYMOUS",
        default: false,
        help: ["no password needed even beyond loopback (unsafe)"],
        onlyFor: "embedded",
    }),
    mqttTlsCert: option<string | undefined>({
        flag: "mqtt-tls-cert",
        arg: "FILE",
        env: "NIGHTLIGHT_MQTT_TLS_CERT",
        default: undefined,
        help: ["certificate (PEM) of an MQTTS listener (with a key)"],
        onlyFor: "embedded",
        parse: path,
    }),
    mqttTlsKey: option<string | undefined>({
        flag: "mqtt-tls-key",
        arg: "FILE",
        env: "NIGHTLIGHT_MQTT_TLS_KEY",
        default: undefined,
        help: ["its private key (PEM)"],
        onlyFor: "embedded",
        parse: path,
    }),
    mqttTlsCa: option<string | undefined>({
        flag: "mqtt-tls-ca",
        arg: "FILE",
        env: "NIGHTLIGHT_MQTT_TLS_CA",
        default: undefined,
        help: ["CA chain (PEM) sent with the certificate"],
        onlyFor: "embedded",
        parse: path,
    }),
    /** MQTT over TLS's registered port. */
    mqttTlsPort: integer({
        flag: "mqtt-tls-port",
        arg: "PORT",
        env: "NIGHTLIGHT_MQTT_TLS_PORT",
        default: 8883,
        min: 0,
        max: 65535,
        help: ["MQTTS port (default {default})"],
        onlyFor: "embedded",
    }),
    mqttTlsHost: option<string | undefined>({
        flag: "mqtt-tls-host",
        arg: "HOST",
        env: "NIGHTLIGHT_MQTT_TLS_HOST",
        default: undefined,
        help: ["MQTTS address (default: the --mqtt-host one)"],
        onlyFor: "embedded",
        parse: (source, fallback) => (source ? parseHost(source) : fallback),
    }),
    /** Stored MQTT sessions (clean session off) in all, and per user: why these, in auth/session-book.ts. */
    mqttMaxSessions: integer({
        flag: "mqtt-max-sessions",
        env: "NIGHTLIGHT_MQTT_MAX_SESSIONS",
        default: SESSION_DEFAULTS.maxSessions,
        min: 0,
        max: 1_000_000,
        help: ["stored sessions (clean session off) in all (default {default})"],
        onlyFor: "embedded",
    }),
    mqttMaxSessionsPerUser: integer({
        flag: "mqtt-max-sessions-per-user",
        env: "NIGHTLIGHT_MQTT_MAX_SESSIONS_PER_USER",
        default: SESSION_DEFAULTS.maxSessionsPerUser,
        min: 0,
        max: 1_000_000,
        help: ["... per user (default {default})"],
        onlyFor: "embedded",
    }),
    /** Seconds a stored session whose client stays away is kept; at least one: the sweep runs that often. */
    mqttSessionExpiryS: integer({
        flag: "mqtt-session-expiry",
        arg: "S",
        env: "NIGHTLIGHT_MQTT_SESSION_EXPIRY",
        default: SESSION_DEFAULTS.expiryMs / 1000,
        min: 1,
        max: 365 * 86_400,
        help: ["seconds a session outlives its client (default {default})"],
        onlyFor: "embedded",
    }),
    /** QoS 1 messages queued per stored session; the oldest is dropped past it. */
    mqttMaxQueued: integer({
        flag: "mqtt-max-queued",
        env: "NIGHTLIGHT_MQTT_MAX_QUEUED",
        default: SESSION_DEFAULTS.maxQueued,
        min: 1,
        max: 1_000_000,
        help: ["QoS 1 messages queued per session (default {default})"],
        onlyFor: "embedded",
    }),
    mqttDeviceSessions: onOff({
        flag: "mqtt-device-sessions",
        env: "NIGHTLIGHT_MQTT_DEVICE_SESSIONS",
        default: false,
        help: ["let device logins keep stored sessions (default: refused)"],
        onlyFor: "embedded",
    }),
    /** Connections not logged in yet, from one address and from all: why these, in mqtt/connection-gate.ts. */
    mqttMaxPendingPerAddress: integer({
        flag: "mqtt-max-pending-per-address",
        env: "NIGHTLIGHT_MQTT_MAX_PENDING_PER_ADDRESS",
        default: CONNECTION_LIMITS.maxPerAddress,
        min: 1,
        max: 1_000_000,
        help: ["connections not logged in yet, per address (default {default})"],
        onlyFor: "embedded",
    }),
    mqttMaxPending: integer({
        flag: "mqtt-max-pending",
        env: "NIGHTLIGHT_MQTT_MAX_PENDING",
        default: CONNECTION_LIMITS.maxTotal,
        min: 1,
        max: 1_000_000,
        help: ["... from all addresses (default {default})"],
        onlyFor: "embedded",
    }),
    /** Seconds from the TCP connection to a successful login; aedes still closes a CONNECT-less one at 30 s. */
    mqttLoginDeadlineS: integer({
        flag: "mqtt-login-deadline",
        arg: "S",
        env: "NIGHTLIGHT_MQTT_LOGIN_DEADLINE",
        default: CONNECTION_LIMITS.deadlineMs / 1000,
        min: 1,
        max: 3600,
        help: ["seconds a connection has to log in (default {default})"],
        onlyFor: "embedded",
    }),
    /** Light units 0..1023; the LED is switched on below this (the lesson's rule). */
    threshold: integer({
        flag: "threshold",
        env: "NIGHTLIGHT_THRESHOLD",
        default: DEFAULT_THRESHOLD,
        min: 1,
        max: LIGHT_MAX,
        help: ["LED on when light < N; {min}..{max} (default {default})"],
    }),
    /**
     * Light units above the threshold before the LED goes off again (hysteresis); 0 is the lesson's rule.
     * Not capped at LIGHT_MAX - threshold: a band past 1023 means "never off by light alone", the user's call.
     */
    band: integer({
        flag: "band",
        env: "NIGHTLIGHT_BAND",
        default: DEFAULT_BAND,
        min: 0,
        max: LIGHT_MAX,
        help: ["LED off when light >= threshold + N; {min}..{max} (default {default})"],
    }),
    /** One simulated device next to the server, so `npm start` shows the whole loop. */
    sim: onOff({
        flag: "no-sim",
        env: "NIGHTLIGHT_SIM",
        envValues: "=0|1|true|false",
        default: true,
        help: ["do not start the simulated device"],
    }),
    /** Topic id of the simulated device. */
    simId: option({
        flag: "sim-id",
        arg: "ID",
        env: "NIGHTLIGHT_SIM_ID",
        default: "nightlight-sim",
        help: ["id of the simulated device (default {default})"],
        parse: parseDeviceId,
    }),
    logLevel: option<LogLevel>({
        flag: "log-level",
        arg: "LEVEL",
        env: "NIGHTLIGHT_LOG_LEVEL",
        default: "info",
        help: [`${LOG_LEVELS.join("|")} (default {default})`],
        parse: (source, fallback) => parseOneOf(source, fallback, LOG_LEVELS),
    }),
    /** Where the registry, the history and the settings changed at run time are kept (SQLite). */
    dataDir: option<string>({
        flag: "data-dir",
        arg: "DIR",
        env: "NIGHTLIGHT_DATA_DIR",
        default: "data",
        shown: "./data",
        help: ["registry, history and saved settings (default {default})"],
        parse: (source, fallback) => parsePath(source) ?? fallback,
    }),
    /** Days of readings and commands kept in the history. */
    retentionDays: integer({
        flag: "retention-days",
        env: "NIGHTLIGHT_RETENTION_DAYS",
        default: 30,
        min: 1,
        max: 3650,
        help: ["days of history kept; {min}..{max} (default {default})"],
    }),
    groups: option<string | undefined>({
        flag: "groups",
        arg: "FILE",
        env: "NIGHTLIGHT_GROUPS",
        default: undefined,
        help: ["groups of devices that decide together (docs/groups.md)"],
        parse: path,
    }),
    /** Devices the server keeps at most; messages of new ones beyond are ignored (controller/events.ts). */
    maxDevices: integer({
        flag: "max-devices",
        env: "NIGHTLIGHT_MAX_DEVICES",
        default: DEFAULT_MAX_DEVICES,
        min: 1,
        max: 1_000_000,
        help: ["devices kept at most (default {default}); new ones", "beyond it are ignored (docs/security.md)"],
    }),
    /** Loopback, like the broker. */
    httpHost: option({
        flag: "http-host",
        arg: "HOST",
        env: "NIGHTLIGHT_HTTP_HOST",
        default: "127.0.0.1",
        help: ["dashboard and HTTP API address (default {default})"],
        parse: parseHostOr,
    }),
    /** 0 picks a free one. */
    httpPort: integer({
        flag: "http-port",
        arg: "PORT",
        env: "NIGHTLIGHT_HTTP_PORT",
        default: 8080,
        min: 0,
        max: 65535,
        help: [
            "dashboard and HTTP API port (default {default}; 0 = any free)",
            "(another host than loopback needs an access token)",
        ],
    }),
    httpToken: option<string | undefined>({
        flag: "http-token",
        arg: "TOKEN",
        env: "NIGHTLIGHT_HTTP_TOKEN",
        default: undefined,
        help: [
            "dashboard and API access token (default: made, kept in",
            "the data dir, when the host is not loopback)",
        ],
        parse: (source, fallback) => parseToken(source).token ?? fallback,
    }),
    dashboard: onOff({
        flag: "no-dashboard",
        env: "NIGHTLIGHT_DASHBOARD",
        default: true,
        help: ["serve neither the dashboard nor the HTTP API"],
    }),
    /** Home Assistant MQTT discovery is off unless asked for. */
    haDiscovery: onOff({
        flag: "ha-discovery",
        env: "NIGHTLIGHT_HA_DISCOVERY",
        default: false,
        help: ["Home Assistant MQTT discovery (docs/home-assistant.md)"],
    }),
    haPrefix: option({
        flag: "ha-prefix",
        arg: "PREFIX",
        env: "NIGHTLIGHT_HA_PREFIX",
        default: "homeassistant",
        help: ["Home Assistant discovery prefix (default {default})"],
        parse: (source, fallback) => parseTopicPrefix(source, fallback),
    }),
    /** Home Assistant's default birth topic: its own setting, not derived from the prefix. */
    haBirthTopic: option({
        flag: "ha-birth-topic",
        arg: "TOPIC",
        env: "NIGHTLIGHT_HA_BIRTH_TOPIC",
        default: "homeassistant/status",
        help: ["Home Assistant birth topic (default {default})"],
        parse: (source, fallback) => parseTopicPrefix(source, fallback, "homeassistant/status"),
    }),
    help: option({
        flag: "help",
        short: "h",
        default: false,
        help: ["show this text"],
        parse: (source, fallback) => (source ? true : fallback),
    }),
}

export type OptionName = keyof typeof OPTIONS
export type OptionValue<K extends OptionName> = ReturnType<(typeof OPTIONS)[K]["parse"]>

export function parseOption<K extends OptionName>(
    name: K,
    source: Source | undefined,
    fallback: OptionValue<K> = OPTIONS[name].default as OptionValue<K>
): OptionValue<K> {
    const spec = OPTIONS[name] as unknown as OptionSpec<OptionValue<K>>
    return spec.parse(source, fallback)
}

export const DEFAULTS = Object.fromEntries(Object.entries(OPTIONS).map(([name, spec]) => [name, spec.default])) as {
    [K in OptionName]: (typeof OPTIONS)[K]["default"]
}

export const ENV = Object.fromEntries(
    Object.entries(OPTIONS).flatMap(([name, spec]) => (spec.env === undefined ? [] : [[name, spec.env]]))
) as Record<Exclude<OptionName, "help">, string>
