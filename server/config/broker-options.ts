/** The broker's options checked together: one given for the other kind of broker is an error, not ignored. Pure. */
import { parseOption, type OptionName } from "./options"
import type { BrokerSettings } from "./types"
import { SettingsError, type Source } from "./values"

/** The options given that only one kind of broker takes (options.ts `onlyFor`), by name. */
type Given = Partial<Record<OptionName, Source>>

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
    if (url) return { kind: "external", url: parseOption("mqttUrl", url)! }
    return { kind: "embedded", host: parseOption("mqttHost", host), port: parseOption("mqttPort", port) }
}

/** The server's own login to an external broker: from variables only (a flag would show in `ps`). */
export function withClientLogin(broker: BrokerSettings, o: Given): BrokerSettings {
    const given = Object.values(o).find(s => s !== undefined)
    if (broker.kind === "embedded") {
        if (given) throw new SettingsError(`${given.name} is for an external broker (--mqtt-url)`)
        return broker
    }
    return {
        ...broker,
        username: parseOption("mqttUsername", o.mqttUsername),
        password: parseOption("mqttPassword", o.mqttPassword),
        caFile: parseOption("mqttCa", o.mqttCa),
        shareGroup: parseOption("mqttShareGroup", o.mqttShareGroup),
    }
}

/** The embedded broker's security options; any of them with an external broker is a mistake to say. */
export function withSecurity(broker: BrokerSettings, o: Given): BrokerSettings {
    const given = Object.values(o).filter(s => s !== undefined)
    if (broker.kind === "external") {
        if (given.length > 0)
            throw new SettingsError(
                `${given[0].name} configures the embedded broker; with --mqtt-url, configure your broker`
            )
        return broker
    }
    const { mqttUsers: usersFile, mqttAllowAnonymous: allowAnonymous } = o
    const { mqttTlsCert: cert, mqttTlsKey: key, mqttTlsCa: ca, mqttTlsPort: tlsPort, mqttTlsHost: tlsHost } = o
    const { mqttMaxSessions: maxSessions, mqttMaxSessionsPerUser: maxSessionsPerUser } = o
    const { mqttSessionExpiryS: sessionExpiry, mqttMaxQueued: maxQueued, mqttDeviceSessions: deviceSessions } = o
    const { mqttMaxPendingPerAddress: maxPerAddress, mqttMaxPending: maxTotal, mqttLoginDeadlineS: deadline } = o
    if ((cert === undefined) !== (key === undefined))
        throw new SettingsError(`${(cert ?? key)!.name} needs ${cert ? "--mqtt-tls-key" : "--mqtt-tls-cert"} too`)
    const orphan = [ca, tlsPort, tlsHost].find(s => s !== undefined)
    if (!cert && orphan) throw new SettingsError(`${orphan.name} needs --mqtt-tls-cert and --mqtt-tls-key`)
    return {
        ...broker,
        usersFile: parseOption("mqttUsers", usersFile),
        allowAnonymous: allowAnonymous ? parseOption("mqttAllowAnonymous", allowAnonymous) : undefined,
        tls:
            cert && key
                ? {
                      cert: parseOption("mqttTlsCert", cert)!,
                      key: parseOption("mqttTlsKey", key)!,
                      ca: parseOption("mqttTlsCa", ca),
                      port: parseOption("mqttTlsPort", tlsPort),
                      host: parseOption("mqttTlsHost", tlsHost),
                  }
                : undefined,
        // only when asked for, so the defaults stay in one place (auth/session-book.ts)
        sessions: [maxSessions, maxSessionsPerUser, sessionExpiry, maxQueued, deviceSessions].some(Boolean)
            ? {
                  maxSessions: parseOption("mqttMaxSessions", maxSessions),
                  maxSessionsPerUser: parseOption("mqttMaxSessionsPerUser", maxSessionsPerUser),
                  expiryMs: parseOption("mqttSessionExpiryS", sessionExpiry) * 1000,
                  maxQueued: parseOption("mqttMaxQueued", maxQueued),
                  deviceSessions: parseOption("mqttDeviceSessions", deviceSessions),
              }
            : undefined,
        connectionLimits: [maxPerAddress, maxTotal, deadline].some(Boolean)
            ? {
                  maxPerAddress: parseOption("mqttMaxPendingPerAddress", maxPerAddress),
                  maxTotal: parseOption("mqttMaxPending", maxTotal),
                  deadlineMs: parseOption("mqttLoginDeadlineS", deadline) * 1000,
              }
            : undefined,
    }
}
