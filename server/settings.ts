/**
 * Command-line flags and NIGHTLIGHT_* environment variables → one validated Settings object.
 * Pure: no I/O, so every case is testable without starting anything.
 */
import { parseArgs } from "node:util"
import { DEFAULT_BAND, DEFAULT_THRESHOLD, LIGHT_MAX } from "./protocol"
import {
    SettingsError,
    parseBoolean,
    parseDeviceId,
    parseHost,
    parseHostOr,
    parseIntegerIn,
    parseMqttUrl,
    parseOneOf,
    parsePath,
    parseShareGroup,
    parseToken,
    parseTopicPrefix,
    type Source,
} from "./settings-values"

export { MQTT_URL_PROTOCOLS, SettingsError, redactUrl } from "./settings-values"

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
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The embedded broker's security (docs/security.md); absent fields: the defaults. */
export interface BrokerSecurity {
    /** The credentials file; default: users.json in the data dir. */
    usersFile?: string
    /** Let clients without a password in, also when the broker listens beyond loopback. */
    allowAnonymous?: boolean
    /** An MQTTS listener next to the plain one. */
    tls?: { cert: string; key: string; ca?: string; port: number; host?: string }
}

export type BrokerSettings =
    | ({ kind: "embedded"; host: string; port: number } & BrokerSecurity)
    | {
          kind: "external"
          url: string
          username?: string
          password?: string
          caFile?: string
          /** Several servers share the telemetry under this name (docs/scale-out.md). */
          shareGroup?: string
      }

export interface Settings {
    help: boolean
    broker: BrokerSettings
    threshold: number
    band: number
    sim: { enabled: boolean; deviceId: string }
    logLevel: LogLevel
    dataDir: string
    retentionDays: number
    /** token: required of every dashboard/API request (else: one is made when the host is not loopback). */
    http: { enabled: boolean; host: string; port: number; token?: string }
    /** The groups file (docs/groups.md), if any. */
    groupsFile: string | undefined
    homeAssistant: { enabled: boolean; prefix: string }
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
    ["--threshold N", `LED on when light < N; 1..${LIGHT_MAX} (default ${DEFAULTS.threshold})`, ENV.threshold],
    ["--band N", `LED off when light >= threshold + N; 0..${LIGHT_MAX} (default ${DEFAULTS.band})`, ENV.band],
    ["--no-sim", "do not start the simulated device", `${ENV.sim}=0|1|true|false`],
    ["--sim-id ID", `id of the simulated device (default ${DEFAULTS.simId})`, ENV.simId],
    ["--log-level LEVEL", `${LOG_LEVELS.join("|")} (default ${DEFAULTS.logLevel})`, ENV.logLevel],
    ["--data-dir DIR", `registry, history and saved settings (default ./${DEFAULTS.dataDir})`, ENV.dataDir],
    ["--retention-days N", `days of history kept; 1..3650 (default ${DEFAULTS.retentionDays})`, ENV.retentionDays],
    ["--groups FILE", "groups of devices that decide together (docs/groups.md)", ENV.groups],
    ["--http-host HOST", `dashboard and HTTP API address (default ${DEFAULTS.httpHost})`, ENV.httpHost],
    ["--http-port PORT", `dashboard and HTTP API port (default ${DEFAULTS.httpPort}; 0 = any free)`, ENV.httpPort],
    ["", "(another host than loopback needs an access token)", ""],
    ["--http-token TOKEN", "dashboard and API access token (default: made, kept in", ENV.httpToken],
    ["", "the data dir, when the host is not loopback)", ""],
    ["--no-dashboard", "serve neither the dashboard nor the HTTP API", `${ENV.dashboard}=0|1`],
    ["--ha-discovery", "Home Assistant MQTT discovery (docs/home-assistant.md)", `${ENV.haDiscovery}=0|1`],
    ["--ha-prefix PREFIX", `Home Assistant discovery prefix (default ${DEFAULTS.haPrefix})`, ENV.haPrefix],
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
    threshold: { type: "string" },
    band: { type: "string" },
    "no-sim": { type: "boolean" },
    "sim-id": { type: "string" },
    "log-level": { type: "string" },
    "data-dir": { type: "string" },
    "retention-days": { type: "string" },
    groups: { type: "string" },
    "http-host": { type: "string" },
    "http-port": { type: "string" },
    "http-token": { type: "string" },
    "no-dashboard": { type: "boolean" },
    "ha-discovery": { type: "boolean" },
    "ha-prefix": { type: "string" },
    help: { type: "boolean", short: "h" },
} as const

export function parseSettings(argv: string[], env: Record<string, string | undefined>): Settings {
    const flags = parseFlags(argv)
    // Asking for help should get help, even with a bad value elsewhere on the line or in the environment.
    if (flags.help === true) return { ...parseSettings([], {}), help: true }
    const fromEnv = (variable: string): Source | undefined => {
        // An empty variable (`NIGHTLIGHT_THRESHOLD= npm start`) means "not set", as shells' users expect.
        const value = env[variable]
        return value !== undefined && value !== "" ? { value, name: variable } : undefined
    }
    const pick = (flag: keyof typeof OPTIONS, variable: string): Source | undefined => {
        const value = flags[flag]
        return typeof value === "string" ? { value, name: `--${flag}` } : fromEnv(variable)
    }

    const shareGroup = pick("mqtt-share-group", ENV.mqttShareGroup)
    const groupsFile = pick("groups", ENV.groups)
    // A group votes on every member's last reading; a server of a share group sees only some of them.
    if (shareGroup && groupsFile)
        throw new SettingsError(
            `${groupsFile.name} cannot be combined with ${shareGroup.name}: a group votes on all its members' ` +
                "readings, and each server of a share group sees only some of them (docs/scale-out.md)"
        )
    return {
        help: false,
        broker: withClientLogin(
            withSecurity(
                parseBroker(
                    pick("mqtt-url", ENV.mqttUrl),
                    pick("mqtt-host", ENV.mqttHost),
                    pick("mqtt-port", ENV.mqttPort)
                ),
                {
                    usersFile: pick("mqtt-users", ENV.mqttUsers),
                    allowAnonymous:
                        flags["mqtt-allow-anonymous"] === true
                            ? { value: "1", name: "--mqtt-allow-anonymous" }
                            : fromEnv(ENV.mqttAllowAnonymous),
                    cert: pick("mqtt-tls-cert", ENV.mqttTlsCert),
                    key: pick("mqtt-tls-key", ENV.mqttTlsKey),
                    ca: pick("mqtt-tls-ca", ENV.mqttTlsCa),
                    tlsPort: pick("mqtt-tls-port", ENV.mqttTlsPort),
                    tlsHost: pick("mqtt-tls-host", ENV.mqttTlsHost),
                }
            ),
            {
                username: fromEnv(ENV.mqttUsername),
                password: fromEnv(ENV.mqttPassword),
                ca: pick("mqtt-ca", ENV.mqttCa),
                shareGroup,
            }
        ),
        threshold: parseIntegerIn(pick("threshold", ENV.threshold), DEFAULTS.threshold, 1, LIGHT_MAX),
        // Not capped at LIGHT_MAX - threshold: a band that reaches past 1023 just means "never off again
        // by light alone", which is the user's call.
        band: parseIntegerIn(pick("band", ENV.band), DEFAULTS.band, 0, LIGHT_MAX),
        sim: {
            // Servers of a share group would each start the same simulated device, which kick each other off.
            enabled: flags["no-sim"] === true ? false : parseBoolean(fromEnv(ENV.sim), !shareGroup && DEFAULTS.sim),
            deviceId: parseDeviceId(pick("sim-id", ENV.simId), DEFAULTS.simId),
        },
        logLevel: parseOneOf(pick("log-level", ENV.logLevel), DEFAULTS.logLevel, LOG_LEVELS),
        dataDir: parsePath(pick("data-dir", ENV.dataDir)) ?? DEFAULTS.dataDir,
        retentionDays: parseIntegerIn(pick("retention-days", ENV.retentionDays), DEFAULTS.retentionDays, 1, 3650),
        http: {
            enabled: flags["no-dashboard"] === true ? false : parseBoolean(fromEnv(ENV.dashboard), true),
            host: parseHostOr(pick("http-host", ENV.httpHost), DEFAULTS.httpHost),
            port: parseIntegerIn(pick("http-port", ENV.httpPort), DEFAULTS.httpPort, 0, 65535),
            ...parseToken(pick("http-token", ENV.httpToken)),
        },
        groupsFile: parsePath(groupsFile),
        homeAssistant: {
            enabled: flags["ha-discovery"] === true ? true : parseBoolean(fromEnv(ENV.haDiscovery), false),
            prefix: parseTopicPrefix(pick("ha-prefix", ENV.haPrefix), DEFAULTS.haPrefix),
        },
    }
}

function parseFlags(argv: string[]): Partial<Record<keyof typeof OPTIONS, string | boolean>> {
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

function parseBroker(url: Source | undefined, host: Source | undefined, port: Source | undefined): BrokerSettings {
    // Flags beat variables across the two groups too: `--mqtt-port 0` ignores NIGHTLIGHT_MQTT_URL and
    // `--mqtt-url` ignores NIGHTLIGHT_MQTT_HOST/PORT; only a conflict at the same level is an error.
    const isFlag = (s: Source | undefined) => s?.name.startsWith("--") === true
    const embedded = [host, port].filter(s => s !== undefined)
    if (url && embedded.length > 0) {
        const sameLevel = embedded.find(s => isFlag(s) === isFlag(url))
        if (sameLevel)
            throw new SettingsError(
                `${url.name} cannot be combined with ${sameLevel.name} ` +
                    `(${sameLevel.name} configures the embedded broker, ${url.name} replaces it)`
            )
        if (isFlag(url)) host = port = undefined
        else url = undefined
    }
    if (url) return { kind: "external", url: parseMqttUrl(url) }
    return {
        kind: "embedded",
        host: host ? parseHost(host) : DEFAULTS.mqttHost,
        port: parseIntegerIn(port, DEFAULTS.mqttPort, 0, 65535),
    }
}

/** The server's own login to an external broker: from variables only (a flag would show in `ps`). */
function withClientLogin(
    broker: BrokerSettings,
    o: Record<"username" | "password" | "ca" | "shareGroup", Source | undefined>
): BrokerSettings {
    const given = Object.values(o).find(s => s !== undefined)
    if (broker.kind === "embedded") {
        if (given) throw new SettingsError(`${given.name} is for an external broker (--mqtt-url)`)
        return broker
    }
    return {
        ...broker,
        username: o.username?.value,
        password: o.password?.value,
        caFile: parsePath(o.ca),
        shareGroup: parseShareGroup(o.shareGroup),
    }
}

/** The embedded broker's security options; any of them with an external broker is a mistake to say. */
function withSecurity(broker: BrokerSettings, o: Record<string, Source | undefined>): BrokerSettings {
    const given = Object.values(o).filter(s => s !== undefined)
    if (broker.kind === "external") {
        if (given.length > 0)
            throw new SettingsError(
                `${given[0].name} configures the embedded broker; with --mqtt-url, configure your broker`
            )
        return broker
    }
    const { usersFile, allowAnonymous, cert, key, ca, tlsPort, tlsHost } = o
    if ((cert === undefined) !== (key === undefined))
        throw new SettingsError(`${(cert ?? key)!.name} needs ${cert ? "--mqtt-tls-key" : "--mqtt-tls-cert"} too`)
    const orphan = [ca, tlsPort, tlsHost].find(s => s !== undefined)
    if (!cert && orphan) throw new SettingsError(`${orphan.name} needs --mqtt-tls-cert and --mqtt-tls-key`)
    return {
        ...broker,
        usersFile: parsePath(usersFile),
        allowAnonymous: allowAnonymous ? parseBoolean(allowAnonymous, false) : undefined,
        tls:
            cert && key
                ? {
                      cert: parsePath(cert)!,
                      key: parsePath(key)!,
                      ca: parsePath(ca),
                      port: parseIntegerIn(tlsPort, DEFAULTS.mqttTlsPort, 0, 65535),
                      host: tlsHost ? parseHost(tlsHost) : undefined,
                  }
                : undefined,
    }
}
