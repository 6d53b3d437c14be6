/**
 * The broker's options checked together: the embedded broker's address and security, or an external
 * broker's URL and the server's login to it. One of a kind given with the other kind is an error that
 * names it, rather than a setting silently ignored. Pure.
 */
import { DEFAULTS } from "./options"
import type { BrokerSettings } from "./types"
import {
    SettingsError,
    parseBoolean,
    parseHost,
    parseIntegerIn,
    parseMqttUrl,
    parsePath,
    parseShareGroup,
    type Source,
} from "./values"

/** The broker to use: an external one (--mqtt-url) or the embedded one, and where it listens. */
export function parseBroker(
    url: Source | undefined,
    host: Source | undefined,
    port: Source | undefined
): BrokerSettings {
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
export function withClientLogin(
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
export function withSecurity(broker: BrokerSettings, o: Record<string, Source | undefined>): BrokerSettings {
    const given = Object.values(o).filter(s => s !== undefined)
    if (broker.kind === "external") {
        if (given.length > 0)
            throw new SettingsError(
                `${given[0].name} configures the embedded broker; with --mqtt-url, configure your broker`
            )
        return broker
    }
    const { usersFile, allowAnonymous, cert, key, ca, tlsPort, tlsHost } = o
    const { maxSessions, maxSessionsPerUser, sessionExpiry, maxQueued, deviceSessions } = o
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
        // only when asked for, so the defaults stay in one place (auth/session-book.ts)
        sessions: [maxSessions, maxSessionsPerUser, sessionExpiry, maxQueued, deviceSessions].some(Boolean)
            ? {
                  maxSessions: parseIntegerIn(maxSessions, DEFAULTS.mqttMaxSessions, 0, 1_000_000),
                  maxSessionsPerUser: parseIntegerIn(maxSessionsPerUser, DEFAULTS.mqttMaxSessionsPerUser, 0, 1_000_000),
                  // at least a second: the sweep runs that often at most
                  expiryMs: parseIntegerIn(sessionExpiry, DEFAULTS.mqttSessionExpiryS, 1, 365 * 86_400) * 1000,
                  maxQueued: parseIntegerIn(maxQueued, DEFAULTS.mqttMaxQueued, 1, 1_000_000),
                  deviceSessions: parseBoolean(deviceSessions, false),
              }
            : undefined,
    }
}
