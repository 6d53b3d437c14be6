/**
 * Every option in one place: its default, its NIGHTLIGHT_* variable, its flag and its help line, so adding
 * one is one edit per table here (and one line in parseSettings). parseFlags reads the command line
 * against the flag table and turns parseArgs' errors into one stable line. Pure.
 */
import { parseArgs } from "node:util"
import { SESSION_DEFAULTS } from "../auth/session-book"
import { DEFAULT_MAX_DEVICES } from "../controller/events"
import { DEFAULT_BAND, DEFAULT_THRESHOLD, LIGHT_MAX } from "../protocol/contract"
import { SettingsError } from "./values"
import { LOG_LEVELS, type LogLevel } from "./types"

export const DEFAULTS = {
    /** Embedded broker listen address. Loopback, so letting other machines in is a deliberate choice. */
    mqttHost: "127.0.0.1",
    /** Embedded broker TCP port (MQTT's registered port); 0 picks a free one. */
    mqttPort: 1883,
    /** Light units 0..1023; the LED is switched on below this (the lesson's rule). */
    threshold: DEFAULT_THRESHOLD,
    /** Light units above the threshold before the LED goes off again (hysteresis); 0 is the lesson's rule. */
    band: DEFAULT_BAND,
    /** Start one simulated device next to the server, so `npm start` shows the whole loop. */
    sim: true,
    /** Topic id of the simulated device. */
    simId: "nightlight-sim",
    logLevel: "info" as LogLevel,
    /** Where the registry, the history and the settings changed at run time are kept (SQLite). */
    dataDir: "data",
    /** Days of readings and commands kept in the history. */
    retentionDays: 30,
    /** Dashboard and HTTP API address: loopback, like the broker. */
    httpHost: "127.0.0.1",
    /** Dashboard and HTTP API TCP port; 0 picks a free one. */
    httpPort: 8080,
    /** MQTTS port of the embedded broker, when it has a certificate (MQTT over TLS's registered port). */
    mqttTlsPort: 8883,
    /** Home Assistant MQTT discovery is off unless asked for; this is HA's default discovery prefix. */
    haPrefix: "homeassistant",
    /** Home Assistant's default birth topic: its own setting, not derived from the prefix. */
    haBirthTopic: "homeassistant/status",
    /** Stored MQTT sessions (clean session off) in all, and per user: why these, in auth/session-book.ts. */
    mqttMaxSessions: SESSION_DEFAULTS.maxSessions,
    mqttMaxSessionsPerUser: SESSION_DEFAULTS.maxSessionsPerUser,
    /** Seconds a stored session whose client stays away is kept. */
    mqttSessionExpiryS: SESSION_DEFAULTS.expiryMs / 1000,
    /** QoS 1 messages queued per stored session; the oldest is dropped past it. */
    mqttMaxQueued: SESSION_DEFAULTS.maxQueued,
    /** Devices the server keeps at most; messages of new ones beyond are ignored (controller/events.ts). */
    maxDevices: DEFAULT_MAX_DEVICES,
}

export const ENV = {
    mqttUrl: "NIGHTLIGHT_MQTT_URL",
    mqttHost: "NIGHTLIGHT_MQTT_HOST",
    mqttPort: "NIGHTLIGHT_MQTT_PORT",
    mqttUsername: "NIGHTLIGHT_MQTT_USERNAME",
    mqttPassword: "NIGHTLIGHT_MQTT_PASSWORD",
    mqttCa: "NIGHTLIGHT_MQTT_CA",
    mqttShareGroup: "NIGHTLIGHT_MQTT_SHARE_GROUP",
    mqttUsers: "NIGHTLIGHT_USERS",
    mqttAllowAnonymous: "NIGHTLIGHT_MQTT_ALLOW_ANONYMOUS",
    mqttTlsCert: "NIGHTLIGHT_MQTT_TLS_CERT",
    mqttTlsKey: "NIGHTLIGHT_MQTT_TLS_KEY",
    mqttTlsCa: "NIGHTLIGHT_MQTT_TLS_CA",
    mqttTlsPort: "NIGHTLIGHT_MQTT_TLS_PORT",
    mqttTlsHost: "NIGHTLIGHT_MQTT_TLS_HOST",
    mqttMaxSessions: "NIGHTLIGHT_MQTT_MAX_SESSIONS",
    mqttMaxSessionsPerUser: "NIGHTLIGHT_MQTT_MAX_SESSIONS_PER_USER",
    mqttSessionExpiry: "NIGHTLIGHT_MQTT_SESSION_EXPIRY",
    mqttMaxQueued: "NIGHTLIGHT_MQTT_MAX_QUEUED",
    mqttDeviceSessions: "NIGHTLIGHT_MQTT_DEVICE_SESSIONS",
    threshold: "NIGHTLIGHT_THRESHOLD",
    band: "NIGHTLIGHT_BAND",
    sim: "NIGHTLIGHT_SIM",
    simId: "NIGHTLIGHT_SIM_ID",
    logLevel: "NIGHTLIGHT_LOG_LEVEL",
    dataDir: "NIGHTLIGHT_DATA_DIR",
    retentionDays: "NIGHTLIGHT_RETENTION_DAYS",
    httpHost: "NIGHTLIGHT_HTTP_HOST",
    httpPort: "NIGHTLIGHT_HTTP_PORT",
    httpToken: "NIGHTLIGHT_HTTP_TOKEN",
    dashboard: "NIGHTLIGHT_DASHBOARD",
    groups: "NIGHTLIGHT_GROUPS",
    haDiscovery: "NIGHTLIGHT_HA_DISCOVERY",
    haPrefix: "NIGHTLIGHT_HA_PREFIX",
    haBirthTopic: "NIGHTLIGHT_HA_BIRTH_TOPIC",
    maxDevices: "NIGHTLIGHT_MAX_DEVICES",
} as const

const HELP_ROWS: [flag: string, what: string, variable: string][] = [
    ["--mqtt-url URL", "join this broker instead of embedding one", ENV.mqttUrl],
    ["", "(mqtt:, mqtts:, ws:, wss:; user:password@ allowed)", ""],
    ["", `(its login: ${ENV.mqttUsername} and ${ENV.mqttPassword})`, ""],
    ["--mqtt-ca FILE", "CA (PEM) to trust for an mqtts:// broker of a private CA", ENV.mqttCa],
    ["--mqtt-share-group NAME", "share the telemetry with the servers of this group", ENV.mqttShareGroup],
    ["", "(MQTT 5 shared subscription; docs/scale-out.md)", ""],
    ["--mqtt-host HOST", `embedded broker address (default ${DEFAULTS.mqttHost})`, ENV.mqttHost],
    ["--mqtt-port PORT", `embedded broker port (default ${DEFAULTS.mqttPort}; 0 = any free)`, ENV.mqttPort],
    ["--mqtt-users FILE", "who may log in to the broker (default data/users.json)", ENV.mqttUsers],
    ["--mqtt-allow-anonymous", "no password needed even beyond loopback (unsafe)", `${ENV.mqttAllowAnonymous}=0|1`],
    ["--mqtt-tls-cert FILE", "certificate (PEM) of an MQTTS listener (with a key)", ENV.mqttTlsCert],
    ["--mqtt-tls-key FILE", "its private key (PEM)", ENV.mqttTlsKey],
    ["--mqtt-tls-ca FILE", "CA chain (PEM) sent with the certificate", ENV.mqttTlsCa],
    ["--mqtt-tls-port PORT", `MQTTS port (default ${DEFAULTS.mqttTlsPort})`, ENV.mqttTlsPort],
    ["--mqtt-tls-host HOST", "MQTTS address (default: the --mqtt-host one)", ENV.mqttTlsHost],
    [
        "--mqtt-max-sessions N",
        `stored sessions (clean session off) in all (default ${DEFAULTS.mqttMaxSessions})`,
        ENV.mqttMaxSessions,
    ],
    [
        "--mqtt-max-sessions-per-user N",
        `... per user (default ${DEFAULTS.mqttMaxSessionsPerUser})`,
        ENV.mqttMaxSessionsPerUser,
    ],
    [
        "--mqtt-session-expiry S",
        `seconds a session outlives its client (default ${DEFAULTS.mqttSessionExpiryS})`,
        ENV.mqttSessionExpiry,
    ],
    ["--mqtt-max-queued N", `QoS 1 messages queued per session (default ${DEFAULTS.mqttMaxQueued})`, ENV.mqttMaxQueued],
    [
        "--mqtt-device-sessions",
        "let device logins keep stored sessions (default: refused)",
        `${ENV.mqttDeviceSessions}=0|1`,
    ],
    ["--threshold N", `LED on when light < N; 1..${LIGHT_MAX} (default ${DEFAULTS.threshold})`, ENV.threshold],
    ["--band N", `LED off when light >= threshold + N; 0..${LIGHT_MAX} (default ${DEFAULTS.band})`, ENV.band],
    ["--no-sim", "do not start the simulated device", `${ENV.sim}=0|1|true|false`],
    ["--sim-id ID", `id of the simulated device (default ${DEFAULTS.simId})`, ENV.simId],
    ["--log-level LEVEL", `${LOG_LEVELS.join("|")} (default ${DEFAULTS.logLevel})`, ENV.logLevel],
    ["--data-dir DIR", `registry, history and saved settings (default ./${DEFAULTS.dataDir})`, ENV.dataDir],
    ["--retention-days N", `days of history kept; 1..3650 (default ${DEFAULTS.retentionDays})`, ENV.retentionDays],
    ["--groups FILE", "groups of devices that decide together (docs/groups.md)", ENV.groups],
    ["--max-devices N", `devices kept at most (default ${DEFAULTS.maxDevices}); new ones`, ENV.maxDevices],
    ["", "beyond it are ignored (docs/security.md)", ""],
    ["--http-host HOST", `dashboard and HTTP API address (default ${DEFAULTS.httpHost})`, ENV.httpHost],
    ["--http-port PORT", `dashboard and HTTP API port (default ${DEFAULTS.httpPort}; 0 = any free)`, ENV.httpPort],
    ["", "(another host than loopback needs an access token)", ""],
    ["--http-token TOKEN", "dashboard and API access token (default: made, kept in", ENV.httpToken],
    ["", "the data dir, when the host is not loopback)", ""],
    ["--no-dashboard", "serve neither the dashboard nor the HTTP API", `${ENV.dashboard}=0|1`],
    ["--ha-discovery", "Home Assistant MQTT discovery (docs/home-assistant.md)", `${ENV.haDiscovery}=0|1`],
    ["--ha-prefix PREFIX", `Home Assistant discovery prefix (default ${DEFAULTS.haPrefix})`, ENV.haPrefix],
    ["--ha-birth-topic TOPIC", `Home Assistant birth topic (default ${DEFAULTS.haBirthTopic})`, ENV.haBirthTopic],
    ["-h, --help", "show this text", ""],
]

const FLAG_WIDTH = Math.max(...HELP_ROWS.map(([flag]) => flag.length))

export const HELP_TEXT = `Usage: npm start -- [options]      (or: tsx server/main.ts [options])

The nightlight server (IoT for Beginners lesson 4): reads {"light": N} from <id>/telemetry
and answers {"led_on": true|false} on <id>/commands when the LED must change (on when
light < threshold, off again when light >= threshold + band).
Without --mqtt-url it embeds its own MQTT broker; unless --no-sim it starts a simulated device.

Options (a flag wins over its environment variable):
${HELP_ROWS.map(([flag, what, variable]) => `  ${flag.padEnd(FLAG_WIDTH)} ${what.padEnd(58)} ${variable}`.trimEnd()).join("\n")}

--mqtt-url cannot be combined with --mqtt-host/--mqtt-port, which configure the embedded broker
(a flag of one kind does override the other kind's environment variables).
Exit codes: 0 after a clean stop (Ctrl-C), 1 when the server cannot start, 2 for bad options.`

const OPTIONS = {
    "mqtt-url": { type: "string" },
    "mqtt-host": { type: "string" },
    "mqtt-port": { type: "string" },
    "mqtt-ca": { type: "string" },
    "mqtt-share-group": { type: "string" },
    "mqtt-users": { type: "string" },
    "mqtt-allow-anonymous": { type: "boolean" },
    "mqtt-tls-cert": { type: "string" },
    "mqtt-tls-key": { type: "string" },
    "mqtt-tls-ca": { type: "string" },
    "mqtt-tls-port": { type: "string" },
    "mqtt-tls-host": { type: "string" },
    "mqtt-max-sessions": { type: "string" },
    "mqtt-max-sessions-per-user": { type: "string" },
    "mqtt-session-expiry": { type: "string" },
    "mqtt-max-queued": { type: "string" },
    "mqtt-device-sessions": { type: "boolean" },
    threshold: { type: "string" },
    band: { type: "string" },
    "no-sim": { type: "boolean" },
    "sim-id": { type: "string" },
    "log-level": { type: "string" },
    "data-dir": { type: "string" },
    "retention-days": { type: "string" },
    groups: { type: "string" },
    "max-devices": { type: "string" },
    "http-host": { type: "string" },
    "http-port": { type: "string" },
    "http-token": { type: "string" },
    "no-dashboard": { type: "boolean" },
    "ha-discovery": { type: "boolean" },
    "ha-prefix": { type: "string" },
    "ha-birth-topic": { type: "string" },
    help: { type: "boolean", short: "h" },
} as const

/** A flag's name without its dashes, as parseFlags returns it. */
export type FlagName = keyof typeof OPTIONS

export function parseFlags(argv: string[]): Partial<Record<FlagName, string | boolean>> {
    try {
        return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values
    } catch (error) {
        throw new SettingsError(describeParseArgsError(error))
    }
}

/** parseArgs' own messages are multi-line and version-dependent; say the same thing in one stable line. */
function describeParseArgsError(error: unknown): string {
    const err = error as { code?: string; message?: string }
    const message = String(err.message ?? error)
    const name = /'(-[^' ]+)/.exec(message)?.[1] ?? /'([^']*)'/.exec(message)?.[1] ?? "?"
    switch (err.code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
            return `unknown option ${name}`
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
            return `unexpected argument "${name}" (options start with --)`
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
            if (message.includes("does not take an argument")) return `option ${name} does not take a value`
            if (message.includes("ambiguous"))
                return `option ${name} is missing its value (for a value starting with "-", write ${name}=VALUE)`
            return `option ${name} is missing its value`
        default:
            return message.split("\n")[0]
    }
}
