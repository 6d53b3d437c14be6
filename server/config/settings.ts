/**
 * Command-line flags and NIGHTLIGHT_* environment variables → one validated Settings object.
 * Pure: no I/O, so every case is testable without starting anything.
 * Here: which source wins (a flag over its variable) and the checks across options; the option tables
 * and the help text are in options.ts, the broker's options in broker-options.ts, the values'
 * checks in values.ts and the result's shape in types.ts.
 */
import { LIGHT_MAX } from "../protocol/contract"
import { parseBroker, withClientLogin, withSecurity } from "./broker-options"
import { DEFAULTS, ENV, parseFlags, type FlagName } from "./options"
import { LOG_LEVELS, type Settings } from "./types"
import {
    SettingsError,
    parseBoolean,
    parseDeviceId,
    parseHostOr,
    parseIntegerIn,
    parseOneOf,
    parsePath,
    parseToken,
    parseTopicPrefix,
    type Source,
} from "./values"

export { MQTT_URL_PROTOCOLS, SettingsError, redactUrl } from "./values"
export { DEFAULTS, ENV, HELP_TEXT } from "./options"
export { LOG_LEVELS, type BrokerSecurity, type BrokerSettings, type LogLevel, type Settings } from "./types"

export function parseSettings(argv: string[], env: Record<string, string | undefined>): Settings {
    const flags = parseFlags(argv)
    // Asking for help should get help, even with a bad value elsewhere on the line or in the environment.
    if (flags.help === true) return { ...parseSettings([], {}), help: true }
    const fromEnv = (variable: string): Source | undefined => {
        // An empty variable (`NIGHTLIGHT_THRESHOLD= npm start`) means "not set", as shells' users expect.
        const value = env[variable]
        return value !== undefined && value !== "" ? { value, name: variable } : undefined
    }
    const pick = (flag: FlagName, variable: string): Source | undefined => {
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
                    maxSessions: pick("mqtt-max-sessions", ENV.mqttMaxSessions),
                    maxSessionsPerUser: pick("mqtt-max-sessions-per-user", ENV.mqttMaxSessionsPerUser),
                    sessionExpiry: pick("mqtt-session-expiry", ENV.mqttSessionExpiry),
                    maxQueued: pick("mqtt-max-queued", ENV.mqttMaxQueued),
                    deviceSessions:
                        flags["mqtt-device-sessions"] === true
                            ? { value: "1", name: "--mqtt-device-sessions" }
                            : fromEnv(ENV.mqttDeviceSessions),
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
        maxDevices: parseIntegerIn(pick("max-devices", ENV.maxDevices), DEFAULTS.maxDevices, 1, 1_000_000),
        homeAssistant: {
            enabled: flags["ha-discovery"] === true ? true : parseBoolean(fromEnv(ENV.haDiscovery), false),
            prefix: parseTopicPrefix(pick("ha-prefix", ENV.haPrefix), DEFAULTS.haPrefix),
            birthTopic: parseTopicPrefix(
                pick("ha-birth-topic", ENV.haBirthTopic),
                DEFAULTS.haBirthTopic,
                DEFAULTS.haBirthTopic
            ),
        },
    }
}
