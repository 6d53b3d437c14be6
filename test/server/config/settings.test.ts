import { describe, expect, test } from "vitest"
import { DEFAULTS, HELP_TEXT, SettingsError, parseSettings, redactUrl } from "../../../server/config/settings"

const parse = (argv: string[], env: Record<string, string | undefined> = {}) => parseSettings(argv, env)

/** The SettingsError message for these arguments (fails the test if they parse). */
function failure(argv: string[], env: Record<string, string | undefined> = {}): string {
    try {
        parse(argv, env)
    } catch (error) {
        expect(error).toBeInstanceOf(SettingsError)
        const message = (error as Error).message
        expect(message).not.toContain("\n")
        return message
    }
    throw new Error(`expected ${JSON.stringify(argv)} ${JSON.stringify(env)} to be rejected`)
}

describe("parseSettings", () => {
    test("defaults: embedded broker on 127.0.0.1:1883, threshold 300, band 100, simulated device on", () => {
        expect(parse([])).toEqual({
            help: false,
            broker: { kind: "embedded", host: "127.0.0.1", port: 1883 },
            threshold: 300,
            band: 100,
            sim: { enabled: true, deviceId: "nightlight-sim" },
            logLevel: "info",
            dataDir: "data",
            retentionDays: 30,
            http: { enabled: true, host: "127.0.0.1", port: 8080 },
            groupsFile: undefined,
            homeAssistant: { enabled: false, prefix: "homeassistant", birthTopic: "homeassistant/status" },
            maxDevices: 20_000,
        })
        expect(DEFAULTS.threshold).toBe(300)
    })

    test("every flag", () => {
        const s = parse([
            "--mqtt-host=0.0.0.0",
            "--mqtt-port",
            "0",
            "--threshold",
            "512",
            "--band",
            "0",
            "--no-sim",
            "--sim-id",
            "porch-1",
            "--log-level",
            "debug",
            "--data-dir",
            "/var/lib/nightlight",
            "--retention-days",
            "365",
            "--groups",
            "stadium.json",
            "--http-host",
            "0.0.0.0",
            "--http-port",
            "0",
            "--ha-discovery",
            "--ha-prefix",
            "ha/test",
            "--ha-birth-topic",
            "ha/birth",
            "--max-devices",
            "500",
        ])
        expect(s).toEqual({
            help: false,
            broker: { kind: "embedded", host: "0.0.0.0", port: 0 },
            threshold: 512,
            band: 0,
            sim: { enabled: false, deviceId: "porch-1" },
            logLevel: "debug",
            dataDir: "/var/lib/nightlight",
            retentionDays: 365,
            http: { enabled: true, host: "0.0.0.0", port: 0 },
            groupsFile: "stadium.json",
            homeAssistant: { enabled: true, prefix: "ha/test", birthTopic: "ha/birth" },
            maxDevices: 500,
        })
        expect(parse(["--no-dashboard"]).http.enabled).toBe(false)
    })

    test("--mqtt-url joins an external broker; all four schemes and credentials are accepted", () => {
        for (const url of ["mqtt://h:1", "mqtts://user:pw@broker.example:8883", "ws://h:8080/mqtt", "wss://h/mqtt"])
            expect(parse(["--mqtt-url", url]).broker).toEqual({ kind: "external", url })
    })

    test("--help and -h", () => {
        expect(parse(["--help"]).help).toBe(true)
        expect(parse(["-h"]).help).toBe(true)
        expect(parse(["--threshold", "dark", "--help"], { NIGHTLIGHT_SIM: "maybe" }).help).toBe(true)
        const flags = [
            "--mqtt-url",
            "--mqtt-host",
            "--mqtt-port",
            "--mqtt-ca",
            "--mqtt-users",
            "--mqtt-allow-anonymous",
            "--mqtt-tls-cert",
            "--mqtt-tls-key",
            "--mqtt-tls-ca",
            "--mqtt-tls-port",
            "--mqtt-tls-host",
            "--threshold",
            "--band",
            "--no-sim",
            "--sim-id",
            "--log-level",
            "--data-dir",
            "--retention-days",
            "--groups",
            "--http-host",
            "--http-port",
            "--http-token",
            "--no-dashboard",
            "--ha-discovery",
            "--ha-prefix",
            "--ha-birth-topic",
        ]
        for (const flag of flags) expect(HELP_TEXT).toContain(flag)
    })

    test("environment variables mirror the flags", () => {
        const s = parse([], {
            NIGHTLIGHT_MQTT_HOST: "::1",
            NIGHTLIGHT_MQTT_PORT: "1884",
            NIGHTLIGHT_THRESHOLD: "1",
            NIGHTLIGHT_BAND: "1023",
            NIGHTLIGHT_SIM: "false",
            NIGHTLIGHT_SIM_ID: "kitchen",
            NIGHTLIGHT_LOG_LEVEL: "WARN",
            NIGHTLIGHT_DATA_DIR: "state",
            NIGHTLIGHT_RETENTION_DAYS: "1",
            NIGHTLIGHT_GROUPS: "g.json",
            NIGHTLIGHT_HTTP_HOST: "::1",
            NIGHTLIGHT_HTTP_PORT: "9000",
            NIGHTLIGHT_DASHBOARD: "0",
            NIGHTLIGHT_HA_DISCOVERY: "true",
            NIGHTLIGHT_HA_PREFIX: "hass",
            NIGHTLIGHT_HA_BIRTH_TOPIC: "hass/status",
            NIGHTLIGHT_MAX_DEVICES: "1",
        })
        expect(s).toEqual({
            help: false,
            broker: { kind: "embedded", host: "::1", port: 1884 },
            threshold: 1,
            band: 1023,
            sim: { enabled: false, deviceId: "kitchen" },
            logLevel: "warn",
            dataDir: "state",
            retentionDays: 1,
            http: { enabled: false, host: "::1", port: 9000 },
            groupsFile: "g.json",
            homeAssistant: { enabled: true, prefix: "hass", birthTopic: "hass/status" },
            maxDevices: 1,
        })
        expect(parse([], { NIGHTLIGHT_MQTT_URL: "mqtt://b:1883" }).broker).toEqual({
            kind: "external",
            url: "mqtt://b:1883",
        })
        for (const [value, enabled] of [
            ["0", false],
            ["1", true],
            ["TRUE", true],
            ["false", false],
        ] as const)
            expect(parse([], { NIGHTLIGHT_SIM: value }).sim.enabled).toBe(enabled)
    })

    test("bad values of the dashboard, history and Home Assistant options name the option", () => {
        expect(failure(["--http-port", "80000"])).toBe(
            'invalid --http-port "80000": expected an integer from 0 to 65535'
        )
        expect(failure([], { NIGHTLIGHT_RETENTION_DAYS: "0" })).toBe(
            'invalid NIGHTLIGHT_RETENTION_DAYS "0": expected an integer from 1 to 3650'
        )
        expect(failure(["--http-host", "http://x"])).toContain("invalid --http-host")
        expect(failure(["--ha-prefix", "home/#"])).toContain('invalid --ha-prefix "home/#"')
        expect(failure(["--ha-birth-topic", "ha/+"])).toBe(
            'invalid --ha-birth-topic "ha/+": expected topic levels of letters, digits, _ or -, such as homeassistant/status'
        )
        expect(failure([], { NIGHTLIGHT_HA_DISCOVERY: "yes" })).toContain("expected 0, 1, true or false")
        // a token is a secret: the message does not repeat it
        expect(failure(["--http-token", "my secret"])).toBe(
            "invalid --http-token: expected 16 to 256 printable characters without spaces"
        )
        expect(parse([], { NIGHTLIGHT_HTTP_TOKEN: "0123456789abcdef" }).http.token).toBe("0123456789abcdef")
    })

    test("broker security: users, the opt-out and TLS for the embedded broker; a login and a CA for an external one", () => {
        expect(
            parse([
                "--mqtt-users",
                "u.json",
                "--mqtt-allow-anonymous",
                "--mqtt-tls-cert",
                "c.pem",
                "--mqtt-tls-key",
                "k.pem",
            ]).broker
        ).toEqual({
            kind: "embedded",
            host: "127.0.0.1",
            port: 1883,
            usersFile: "u.json",
            allowAnonymous: true,
            tls: { cert: "c.pem", key: "k.pem", port: 8883 },
        })
        expect(failure(["--mqtt-tls-cert", "c.pem"])).toBe("--mqtt-tls-cert needs --mqtt-tls-key too")
        expect(failure(["--mqtt-tls-port", "8884"])).toBe("--mqtt-tls-port needs --mqtt-tls-cert and --mqtt-tls-key")
        expect(failure(["--mqtt-url", "mqtt://b:1", "--mqtt-users", "u.json"])).toContain(
            "--mqtt-users configures the embedded broker"
        )
        const env = { NIGHTLIGHT_MQTT_USERNAME: "server", NIGHTLIGHT_MQTT_PASSWORD: "s3cret" }
        expect(parse(["--mqtt-url", "mqtts://b:8883", "--mqtt-ca", "ca.pem"], env).broker).toEqual({
            kind: "external",
            url: "mqtts://b:8883",
            username: "server",
            password: "s3cret",
            caFile: "ca.pem",
        })
        expect(failure([], env)).toBe("NIGHTLIGHT_MQTT_USERNAME is for an external broker (--mqtt-url)")
    })

    test("stored sessions: limits for the embedded broker, the defaults for the rest of them; none for an external one", () => {
        expect(parse(["--mqtt-max-sessions-per-user", "3", "--mqtt-device-sessions"]).broker).toMatchObject({
            kind: "embedded",
            sessions: {
                maxSessions: 1000,
                maxSessionsPerUser: 3,
                expiryMs: 3_600_000,
                maxQueued: 100,
                deviceSessions: true,
            },
        })
        const env = {
            NIGHTLIGHT_MQTT_SESSION_EXPIRY: "60",
            NIGHTLIGHT_MQTT_MAX_QUEUED: "5",
            NIGHTLIGHT_MQTT_MAX_SESSIONS: "0",
        }
        expect(parse([], env).broker).toMatchObject({ sessions: { expiryMs: 60_000, maxQueued: 5, maxSessions: 0 } })
        expect(parse([]).broker).not.toHaveProperty("sessions.maxSessions")
        expect(failure(["--mqtt-session-expiry", "0"])).toContain(
            '--mqtt-session-expiry "0": expected an integer from 1'
        )
        expect(failure(["--mqtt-max-queued", "lots"])).toContain('--mqtt-max-queued "lots"')
        expect(failure(["--mqtt-url", "mqtt://b:1", "--mqtt-device-sessions"])).toContain(
            "--mqtt-device-sessions configures the embedded broker"
        )
    })

    test("connections not logged in: limits for the embedded broker, only when asked for; none for an external one", () => {
        expect(parse(["--mqtt-max-pending-per-address", "4"]).broker).toMatchObject({
            kind: "embedded",
            connectionLimits: { maxPerAddress: 4, maxTotal: 1000, deadlineMs: 10_000 },
        })
        const env = { NIGHTLIGHT_MQTT_MAX_PENDING: "50", NIGHTLIGHT_MQTT_LOGIN_DEADLINE: "3" }
        expect(parse([], env).broker).toMatchObject({
            connectionLimits: { maxPerAddress: 32, maxTotal: 50, deadlineMs: 3000 },
        })
        expect(parse(["--mqtt-login-deadline", "20"], env).broker).toMatchObject({
            connectionLimits: { deadlineMs: 20_000 },
        })
        expect(parse([]).broker).not.toHaveProperty("connectionLimits.maxTotal")
        expect(failure(["--mqtt-max-pending", "0"])).toBe(
            'invalid --mqtt-max-pending "0": expected an integer from 1 to 1000000'
        )
        expect(failure([], { NIGHTLIGHT_MQTT_MAX_PENDING_PER_ADDRESS: "many" })).toBe(
            'invalid NIGHTLIGHT_MQTT_MAX_PENDING_PER_ADDRESS "many": expected an integer from 1 to 1000000'
        )
        expect(failure(["--mqtt-login-deadline", "0"])).toBe(
            'invalid --mqtt-login-deadline "0": expected an integer from 1 to 3600'
        )
        expect(failure(["--mqtt-url", "mqtt://b:1", "--mqtt-login-deadline", "5"])).toBe(
            "--mqtt-login-deadline configures the embedded broker; with --mqtt-url, configure your broker"
        )
        for (const flag of ["--mqtt-max-pending-per-address N", "--mqtt-max-pending N", "--mqtt-login-deadline S"])
            expect(HELP_TEXT).toContain(flag)
    })

    test("scale-out: a share group for an external broker, without groups, and no simulated device by default", () => {
        const shared = parse(["--mqtt-url", "mqtt://b:1883", "--mqtt-share-group", "lights"])
        expect(shared.broker).toMatchObject({ kind: "external", shareGroup: "lights" })
        // every server of the group would start the same simulated device, kicking each other off
        expect(shared.sim.enabled).toBe(false)
        const env = { NIGHTLIGHT_MQTT_URL: "mqtt://b:1883", NIGHTLIGHT_MQTT_SHARE_GROUP: "lights", NIGHTLIGHT_SIM: "1" }
        expect(parse([], env)).toMatchObject({ broker: { shareGroup: "lights" }, sim: { enabled: true } })
        expect(parse(["--mqtt-url", "mqtt://b:1883"]).sim.enabled).toBe(true)

        expect(failure(["--mqtt-share-group", "lights"])).toBe(
            "--mqtt-share-group is for an external broker (--mqtt-url)"
        )
        expect(failure(["--mqtt-url", "mqtt://b:1", "--mqtt-share-group", "a/b"])).toBe(
            'invalid --mqtt-share-group "a/b": expected 1-64 letters, digits, _ . : or - (no / + #), such as nightlight'
        )
        expect(failure(["--mqtt-url", "mqtt://b:1", "--mqtt-share-group", "+"])).toContain("--mqtt-share-group")
        expect(failure(["--mqtt-url", "mqtt://b:1", "--mqtt-share-group", "g", "--groups", "groups.json"])).toBe(
            "--groups cannot be combined with --mqtt-share-group: a group votes on all its members' readings, " +
                "and each server of a share group sees only some of them (docs/scale-out.md)"
        )
        expect(HELP_TEXT).toContain("--mqtt-share-group NAME")
    })

    test("an empty variable counts as unset", () => {
        expect(parse([], { NIGHTLIGHT_THRESHOLD: "", NIGHTLIGHT_BAND: "", NIGHTLIGHT_MQTT_URL: "" })).toEqual(parse([]))
    })

    test("the band may reach past 1023 with the threshold: then only the dark switches the LED", () => {
        expect(parse(["--threshold", "1000", "--band", "500"])).toMatchObject({ threshold: 1000, band: 500 })
    })

    test("a flag beats its variable", () => {
        const env = {
            NIGHTLIGHT_THRESHOLD: "100",
            NIGHTLIGHT_BAND: "50",
            NIGHTLIGHT_MQTT_PORT: "1884",
            NIGHTLIGHT_SIM: "1",
            NIGHTLIGHT_SIM_ID: "env-id",
        }
        const s = parse(
            ["--threshold", "200", "--band", "20", "--mqtt-port", "1885", "--no-sim", "--sim-id", "flag-id"],
            env
        )
        expect(s.threshold).toBe(200)
        expect(s.band).toBe(20)
        expect(s.broker).toEqual({ kind: "embedded", host: "127.0.0.1", port: 1885 })
        expect(s.sim).toEqual({ enabled: false, deviceId: "flag-id" })
    })

    test("a flag beats the variables of the other broker kind", () => {
        expect(parse(["--mqtt-port", "0"], { NIGHTLIGHT_MQTT_URL: "mqtt://b:1" }).broker).toEqual({
            kind: "embedded",
            host: "127.0.0.1",
            port: 0,
        })
        expect(parse(["--mqtt-url", "mqtt://b:1"], { NIGHTLIGHT_MQTT_PORT: "5" }).broker).toEqual({
            kind: "external",
            url: "mqtt://b:1",
        })
    })

    test("the error names an invalid value's flag or variable, and the value", () => {
        const cases: [string[], Record<string, string>, RegExp][] = [
            [["--threshold", "abc"], {}, /--threshold "abc".*1 to 1023/],
            [["--threshold", "0"], {}, /--threshold "0"/],
            [["--threshold", "1024"], {}, /--threshold "1024"/],
            [["--threshold", "3.5"], {}, /--threshold "3.5"/],
            [["--threshold", " 300"], {}, /--threshold " 300"/],
            [[], { NIGHTLIGHT_THRESHOLD: "dark" }, /NIGHTLIGHT_THRESHOLD "dark"/],
            [["--band", "1024"], {}, /--band "1024".*0 to 1023/],
            [["--band", "1.5"], {}, /--band "1.5"/],
            [["--band=-1"], {}, /--band "-1"/],
            [[], { NIGHTLIGHT_BAND: "wide" }, /NIGHTLIGHT_BAND "wide"/],
            [["--mqtt-port", "65536"], {}, /--mqtt-port "65536".*0 to 65535/],
            [["--mqtt-port", "-1"], {}, /--mqtt-port/],
            [[], { NIGHTLIGHT_MQTT_PORT: "http" }, /NIGHTLIGHT_MQTT_PORT "http"/],
            [["--mqtt-host", "mqtt://x"], {}, /--mqtt-host "mqtt:\/\/x"/],
            [["--mqtt-url", "127.0.0.1:1883"], {}, /--mqtt-url "127.0.0.1:1883"/],
            [["--mqtt-url", "http://b:1883"], {}, /--mqtt-url "http:\/\/b:1883".*mqtt:\/\//],
            [["--mqtt-url", "not a url"], {}, /--mqtt-url "not a url"/],
            [[], { NIGHTLIGHT_MQTT_URL: "tcp//b" }, /NIGHTLIGHT_MQTT_URL "tcp\/\/b"/],
            [[], { NIGHTLIGHT_SIM: "yes" }, /NIGHTLIGHT_SIM "yes".*0, 1, true or false/],
            [["--sim-id", "a/b"], {}, /--sim-id "a\/b"/],
            [["--sim-id", "x+"], {}, /--sim-id "x\+"/],
            [[], { NIGHTLIGHT_SIM_ID: "has space" }, /NIGHTLIGHT_SIM_ID "has space"/],
            [["--log-level", "loud"], {}, /--log-level "loud".*info/],
            [[], { NIGHTLIGHT_LOG_LEVEL: "verbose" }, /NIGHTLIGHT_LOG_LEVEL "verbose"/],
        ]
        for (const [argv, env, expected] of cases) expect(failure(argv, env)).toMatch(expected)
    })

    test("a password in a rejected URL is not echoed", () => {
        const message = failure(["--mqtt-url", "http://me:secret@b:1"])
        expect(message).not.toContain("secret")
        expect(redactUrl("mqtt://me:secret@b:1")).toBe("mqtt://me:***@b:1")
        expect(redactUrl("mqtt://b:1")).toBe("mqtt://b:1")
    })

    test("command-line mistakes are named", () => {
        expect(failure(["--bogus"])).toBe("unknown option --bogus")
        expect(failure(["-x"])).toBe("unknown option -x")
        expect(failure(["--threshold"])).toBe("option --threshold is missing its value")
        expect(failure(["--threshold", "--no-sim"])).toMatch(/^option --threshold is missing its value/)
        expect(failure(["--no-sim=1"])).toBe("option --no-sim does not take a value")
        expect(failure(["300"])).toMatch(/unexpected argument "300"/)
    })

    test("--mqtt-url together with --mqtt-port or --mqtt-host is a conflict", () => {
        expect(failure(["--mqtt-url", "mqtt://b:1", "--mqtt-port", "1884"])).toMatch(
            /--mqtt-url cannot be combined with --mqtt-port/
        )
        expect(failure(["--mqtt-host", "0.0.0.0", "--mqtt-url", "mqtt://b:1"])).toMatch(
            /--mqtt-url cannot be combined with --mqtt-host/
        )
        expect(failure([], { NIGHTLIGHT_MQTT_URL: "mqtt://b:1", NIGHTLIGHT_MQTT_PORT: "1" })).toMatch(
            /NIGHTLIGHT_MQTT_URL cannot be combined with NIGHTLIGHT_MQTT_PORT/
        )
    })
})
