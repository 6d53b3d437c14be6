/** Flags and NIGHTLIGHT_* variables → one validated Settings object, with the checks across options. Pure. */
import { parseBroker, withClientLogin, withSecurity } from "./broker-options"
import { readOptions } from "./command-line"
import { OPTIONS } from "./options"
import type { Settings } from "./types"
import { SettingsError } from "./values"

export { MQTT_URL_PROTOCOLS, SettingsError, redactUrl } from "./values"
export { DEFAULTS, ENV } from "./options"
export { HELP_TEXT } from "./help-text"
export { LOG_LEVELS, type BrokerSecurity, type BrokerSettings, type LogLevel, type Settings } from "./types"

export function parseSettings(argv: string[], env: Record<string, string | undefined>): Settings {
    const given = readOptions(argv, env)
    const { source, value } = given
    // Asking for help should get help, even with a bad value elsewhere on the line or in the environment.
    if (value("help")) return { ...parseSettings([], {}), help: true }

    const shareGroup = source("mqttShareGroup")
    const groupsFile = source("groups")
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
                parseBroker(source("mqttUrl"), source("mqttHost"), source("mqttPort")),
                given.onlyFor("embedded")
            ),
            given.onlyFor("external")
        ),
        threshold: value("threshold"),
        band: value("band"),
        sim: {
            // Servers of a share group would each start the same simulated device, which kick each other off.
            enabled: value("sim", !shareGroup && OPTIONS.sim.default),
            deviceId: value("simId"),
        },
        logLevel: value("logLevel"),
        dataDir: value("dataDir"),
        retentionDays: value("retentionDays"),
        http: {
            enabled: value("dashboard"),
            host: value("httpHost"),
            port: value("httpPort"),
            ...tokenOf(value("httpToken")),
        },
        groupsFile: value("groups"),
        maxDevices: value("maxDevices"),
        homeAssistant: {
            enabled: value("haDiscovery"),
            prefix: value("haPrefix"),
            birthTopic: value("haBirthTopic"),
        },
    }
}

/** The dashboard's token, as a field only when given (the Settings have no `token: undefined`). */
function tokenOf(token: string | undefined): { token?: string } {
    return token === undefined ? {} : { token }
}
