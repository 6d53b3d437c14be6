/**
 * The HTTP API's typed contract, shared by the server, the dashboard (web/) and the tests: the routes
 * are in api-routes.ts, README "HTTP API" lists them. Times are ms since 1970 (server clock), light is in
 * the lesson's units (0..1023), `null` means "not known yet"; errors are 4xx/5xx with an ApiError.
 */

/** Who chooses the LED state now: the server's rule (alone or for a group), or the device by itself. */
export type Decider = "server" | "device"

export interface DeviceView {
    id: string
    /** From `<id>/status`; null until the device (or its will) said anything. */
    online: boolean | null
    firstSeen: number
    lastSeen: number
    /** The last reading's light, and when it was taken. */
    light: number | null
    lightAt: number | null
    /** The server's decision for the LED. */
    ledOn: boolean | null
    /** The LED as the device last reported it (the lesson's device reports none). */
    reportedLed: boolean | null
    /** "device" while the device reports `local: true` (it has not heard the server for a while). */
    decider: Decider
    /** The group the device votes in, or null: then it follows its own reading. */
    group: string | null
    /**
     * True while a person's switch (Home Assistant, NightlightServer.override) holds the LED: until the
     * automatic decision next changes. Absent from servers that do not tell.
     */
    switchedByHand?: boolean
    lastCommand: { ledOn: boolean; at: number; reason: string } | null
    /** The simulated device `npm start` runs: the dashboard offers a light slider for it. */
    simulated: boolean
    /**
     * The `<id>/config` version its last reading says it runs (`cfg`); other than `configSent`: it runs an
     * old one, or one this server never sent it (a forged version, above). null: it never said (the
     * lesson's device, or ours before its first config). Absent from servers that do not tell.
     */
    configVersion?: number | null
    /**
     * The version its config was last published with (a change for it, its group or the fleet): it runs
     * an old one below this, and above it one this server never sent. Absent from servers that do not tell.
     */
    configSent?: number
    /** Why it refused the last config it got (`cfgErr`): it runs the old one. null when it did not. */
    configError?: string | null
}

export interface DevicesResponse {
    devices: DeviceView[]
}

/**
 * The fleet's states, each a count in SummaryResponse and a filter of `GET /api/devices?state=`. A device
 * is in several at once (e.g. online, led_on, stale). `now` is the server's clock at the request.
 * - online / offline / no_status: its `online` is true / false / null (no status heard).
 * - led_on / led_off: the server's decision `ledOn` is true / false (null: neither, not decided yet).
 * - local: `decider` is "device" (it reported `local: true`: it decides by itself).
 * - stale: nothing heard from it (`lastSeen`) for more than SummaryResponse.staleAfterMs.
 * - readings_lost: since the server started, readings of it never arrived or it discarded some.
 * - led_disagrees: `reportedLed` and `ledOn` are both known and differ.
 * - config_old: its readings say it runs a config other than the one last published to it (older, or one
 *   never sent; its DeviceConfigDeviceView.config.version), or that it refused the last one (`configError`).
 *   Devices that never say (the lesson's) are never counted.
 */
export const DEVICE_STATES = [
    "online",
    "offline",
    "no_status",
    "led_on",
    "led_off",
    "local",
    "stale",
    "readings_lost",
    "led_disagrees",
    "config_old",
] as const
export type DeviceStateName = (typeof DEVICE_STATES)[number]

/**
 * How `GET /api/devices?sort=` orders, ties by id: id; light (devices without a reading last either way);
 * lastSeen; state: offline, then no status, then online.
 */
export const DEVICE_SORTS = ["id", "light", "lastSeen", "state"] as const
export type DeviceSort = (typeof DEVICE_SORTS)[number]

/** `GET /api/devices` with any query parameter: one page of the devices that match, sorted. */
export interface DeviceQuery {
    offset: number
    limit: number
    sort: DeviceSort
    order: "asc" | "desc"
    state?: DeviceStateName
    /** A part of the id (case-insensitive). */
    q?: string
}

export interface DevicePageResponse extends DevicesResponse {
    /** How many devices match the filters (all pages). */
    total: number
    offset: number
    limit: number
}

/** A group in the summary: its decision and votes without the per-member lists. */
export interface GroupSummary {
    name: string
    members: number
    ledOn: boolean | null
    voters: number
    dark: number
}

export interface SummaryResponse {
    /** Every device the server has seen. */
    devices: number
    counts: Record<DeviceStateName, number>
    /** ms without news after which a device counts as stale. */
    staleAfterMs: number
    /** The server's clock when counted. */
    at: number
    /** The version of the config the server sends its devices now (DeviceConfigResponse). */
    configVersion: number
    groups: GroupSummary[]
}

/**
 * How a group decides. Members vote "dark" from their fresh readings (with the band: while the group is
 * on, a member stays dark until its light reaches threshold + band). "majority": on when more than half
 * of the voters are dark, off again when fewer than half are. "at-least": on when at least `dark`
 * voters are dark. Offline members, and members with no reading in `staleAfterMs`, do not vote; with
 * fewer than `minVoters` voters the group keeps its state.
 */
export type GroupRule =
    | { kind: "majority"; staleAfterMs: number; minVoters: number }
    | { kind: "at-least"; dark: number; staleAfterMs: number; minVoters: number }

export type NotVotingReason = "offline" | "stale" | "no_reading"

export interface GroupVotes {
    voters: number
    dark: number
    notVoting: { id: string; why: NotVotingReason }[]
}

export interface GroupView {
    name: string
    members: string[]
    rule: GroupRule
    /** The group's decision; null before it had enough voters. */
    ledOn: boolean | null
    votes: GroupVotes
}

export interface GroupsResponse {
    groups: GroupView[]
}

/** Any subset; the result is validated as a whole (e.g. `dark` must not exceed the member count). */
export type GroupRulePatch = Partial<{
    kind: GroupRule["kind"]
    dark: number
    staleAfterMs: number
    minVoters: number
}>

export interface RuleSettings {
    /** LED on when light < threshold; 1..1023. */
    threshold: number
    /** Off again only when light >= threshold + band; 0..1023. */
    band: number
}

export type RuleSettingsPatch = Partial<RuleSettings>

/**
 * The fleet's config (README "Wire protocol"), sent on `<id>/config` to every device but for the values
 * its group or itself set (DeviceConfigOverride): `threshold` and `band` are RuleSettings'; the rest is
 * changed with DeviceConfigPatch. `version` is the one a fleet-wide change last took; every change, for
 * a device, a group or the fleet, takes a higher one (DeviceConfigDeviceView.config.version).
 */
export interface DeviceConfigResponse {
    version: number
    threshold: number
    band: number
    /** The device reports at least this often (ms); 100..3600000. */
    reportMs: number
    /** ... and at once when the light moved by this much; 1..1023. */
    minChange: number
    /** It decides the LED itself after this long without a word from the server (ms); 1000..3600000. */
    localAfterMs: number
}

/** PATCH /api/device-config: any subset; the threshold and band are PATCH /api/settings'. */
export type DeviceConfigPatch = Partial<Pick<DeviceConfigResponse, "reportMs" | "minChange" | "localAfterMs">>

/** A value of the device config, each of which a group or a device may set for itself. */
export type DeviceConfigField = Exclude<keyof DeviceConfigResponse, "version">

/** Where a device's value comes from: the narrower wins (device over group over fleet). */
export type DeviceConfigSource = "fleet" | "group" | "device"

/** A group's or a device's own values: any subset, each in DeviceConfigResponse's range. */
export type DeviceConfigOverride = Partial<Record<DeviceConfigField, number>>

/** PATCH /api/device-config/devices/:id and /groups/:name: sets the fields given; `null` clears one. */
export type DeviceConfigOverridePatch = Partial<Record<DeviceConfigField, number | null>>

/** GET /api/device-config/devices/:id: what the device is sent, where each value comes from. */
export interface DeviceConfigDeviceView {
    id: string
    group: string | null
    /** Its effective config; `version` is the one it was last published with (config_old below it). */
    config: DeviceConfigResponse
    sources: Record<DeviceConfigField, DeviceConfigSource>
    /** Its own values, and its group's (empty when none or no group). */
    override: DeviceConfigOverride
    groupOverride: DeviceConfigOverride
}

/** GET /api/device-config/groups/:name: the group's own values. */
export interface DeviceConfigGroupView {
    name: string
    members: string[]
    override: DeviceConfigOverride
}

/** The threshold and band in force from `t` on (until the next change). */
export interface RuleChange extends RuleSettings {
    t: number
}

/**
 * A device's own threshold and band in force from `t` on, when either is not the fleet's (its own or
 * its group's); `rule` null: from `t` on it follows the fleet's again. The band a device was judged by
 * at a time is its entry in force then, else the fleet's (`settingsHistory`).
 */
export interface DeviceRuleChange {
    t: number
    rule: RuleSettings | null
}

/** One reading, or (when the range holds more readings than `points`) one time bucket of readings. */
export interface HistoryPoint {
    /** Start of the reading or bucket. */
    t: number
    /** The reading, or the bucket's mean. */
    light: number
    /** Only for buckets. */
    min?: number
    max?: number
    /** The LED as the device reported it with the reading (any reading of a bucket on → true). */
    led: boolean | null
}

export interface HistoryCommand {
    t: number
    ledOn: boolean
    reason: string
}

export interface HistoryResponse {
    device: string
    from: number
    to: number
    /** 0 when `readings` are the raw readings; else the bucket width in ms. */
    bucketMs: number
    readings: HistoryPoint[]
    /** The commands sent in the range (the LED decisions), oldest first; at most 10000. */
    commands: HistoryCommand[]
    /** The threshold and band now. */
    settings: RuleSettings
    /**
     * The threshold and band over the range, oldest first: the ones in force at `from` (their t is at
     * or before it), then each change up to `to`. Empty before the first on record (a database from
     * before the server kept them). The fleet's: see deviceRules.
     */
    settingsHistory?: RuleChange[]
    /**
     * This device's own rule over the range, oldest first (DeviceRuleChange): the entry in force at
     * `from`, then each change up to `to`; empty while it follows the fleet. The chart draws the band
     * of the entry in force at each time, else the fleet's. Absent from older servers.
     */
    deviceRules?: DeviceRuleChange[]
}

/** A light to hold (0..1023), or "daylight": back to the simulator's day/night cycle. */
export type SimLight = number | "daylight"

export interface SimLightRequest {
    light: SimLight
}

export interface SimLightResponse {
    deviceId: string
    light: SimLight
}

/** Home Assistant discovery (docs/home-assistant.md): on with --ha-discovery. */
export interface HomeAssistantView {
    enabled: boolean
    /** null when discovery is off. */
    prefix: string | null
    birthTopic: string | null
    /** Devices deleted in Home Assistant (or through the API): not announced until brought back. Sorted. */
    removed: string[]
}

/**
 * The server's counters since it started, by name: what it handled, and what it refused, cut off or
 * slowed down (docs/security.md "Limits"). Each part is a flat record, so a counter added on the
 * server (e.g. to BrokerAuth's stats) reaches the API and the dashboard without a change here.
 */
export interface StatsResponse {
    /** The controller's (ServerStats): readings received, commands and acks, new devices refused. */
    server: Record<string, number>
    /** Telemetry rejected, by reason (bad_topic, too_large, not_json, not_object, bad_field). */
    rejected: Record<string, number>
    /**
     * The embedded broker's: logins (failed, locked out, slowed down, busy), refused sessions, publishes
     * rate-limited or denied, connections refused or timed out before logging in, oversized packets.
     * null with an external broker, which keeps its own.
     */
    broker: Record<string, number> | null
    /** The HTTP server's: live streams open and refused, requests rate-limited. */
    http: Record<string, number>
}

export interface ApiError {
    error: string
    field?: string
}

/**
 * What a live stream carries. "all" (`GET /api/events`): every device in "hello" and every event after.
 * "fleet" (`GET /api/events?view=fleet`, what the dashboard opens): "hello" with no devices but the
 * summary and the stream's id, then a "summary" event when the counts change (at most one a second), and
 * "device", "reading" and "command" events only for the devices the page watches (WatchRequest).
 * "group" and "settings" events go to both; "rule" events only for the devices the page watches.
 */
export const LIVE_VIEWS = ["all", "fleet"] as const
export type LiveView = (typeof LIVE_VIEWS)[number]

/** The most devices one fleet stream watches: a page's worth (FLEET's limitMax). */
export const MAX_WATCHED_DEVICES = 1000

/**
 * `PUT /api/events/:stream/watch`: the devices whose events the fleet stream `:stream` (hello's `stream`)
 * sends from now on, replacing the ones before; ids not known yet are kept for when they appear. The
 * stream then sends a "device" event for each of them the server knows, so the page catches up in order.
 * 404 when no such stream is open (the page opens a new one).
 */
export interface WatchRequest {
    devices: string[]
}

export interface WatchResponse {
    /** How many distinct devices the stream now watches. */
    watching: number
}

/** The live stream (`GET /api/events`). A new subscriber first gets "hello" with the whole state. */
export type LiveEvent =
    | {
          type: "hello"
          /** Every device ("all" view); empty in the "fleet" view. */
          devices: DeviceView[]
          groups: GroupView[]
          settings: RuleSettings
          /** "fleet" view only: the counts now, and the id to send WatchRequests for. */
          summary?: SummaryResponse
          stream?: string
      }
    /** "fleet" view only: the counts changed (at most one a second). */
    | { type: "summary"; summary: SummaryResponse }
    | { type: "device"; device: DeviceView }
    | { type: "reading"; deviceId: string; t: number; light: number; led: boolean | null }
    | { type: "command"; deviceId: string; t: number; ledOn: boolean; reason: string }
    | { type: "group"; group: GroupView }
    /** `at`: when the change was made (absent from older servers). */
    | { type: "settings"; settings: RuleSettings; at?: number }
    /**
     * The device's own rule from `at` on (a device's or its group's override changed, or the fleet's
     * under a partial one); `rule` null: it follows the fleet's again ("settings").
     */
    | { type: "rule"; deviceId: string; rule: RuleSettings | null; at: number }

/**
 * What the HTTP layer needs from the rest of the server. Each method validates nothing the HTTP layer
 * has not already validated, and throws ApiProblem for a problem the client should hear about.
 */
export interface ApiBackend {
    devices(): DeviceView[]
    /** One page of the devices matching `query` (validated), counted and sorted at `now`. */
    devicePage(query: DeviceQuery, now: number): DevicePageResponse
    /** The counts by state at `now`, and the groups' decisions. */
    summary(now: number): SummaryResponse
    device(id: string): DeviceView | undefined
    history(id: string, from: number, to: number, points: number): HistoryResponse | undefined
    groups(): GroupView[]
    /** Throws ApiProblem (400, naming the field) when the resulting rule is invalid; undefined: no such group. */
    updateGroupRule(name: string, patch: GroupRulePatch): GroupView | undefined
    settings(): RuleSettings
    updateSettings(patch: RuleSettingsPatch): RuleSettings
    deviceConfig(): DeviceConfigResponse
    /** Saved, and sent to every device with a new version when it changes anything. */
    updateDeviceConfig(patch: DeviceConfigPatch): DeviceConfigResponse
    /** undefined: a device the server never met. */
    deviceConfigOf(id: string): DeviceConfigDeviceView | undefined
    /** Saved, and sent with a new version to the device when its config changes; null clears all. */
    overrideDeviceConfig(id: string, patch: DeviceConfigOverridePatch | null): DeviceConfigDeviceView | undefined
    /** undefined: no such group (in the groups file). */
    groupConfigOf(name: string): DeviceConfigGroupView | undefined
    /** Saved, and sent with a new version to the members whose config changes; null clears all. */
    overrideGroupConfig(name: string, patch: DeviceConfigOverridePatch | null): DeviceConfigGroupView | undefined
    /** undefined when no simulated device runs. */
    setSimLight(light: SimLight): SimLightResponse | undefined
    /**
     * Live events; returns the unsubscribe function. With `wants`, "device", "reading" and "command"
     * events are made only for the devices it accepts (no view built for the others).
     */
    subscribe(listener: (event: LiveEvent) => void, wants?: (deviceId: string) => boolean): () => void
    /** undefined (or absent) when Home Assistant discovery is off. */
    homeAssistant?(): HomeAssistantView | undefined
    /**
     * Announces a known device to Home Assistant again (shown), or removes it from there (not shown);
     * undefined when discovery is off. Throws ApiProblem 404 for an unknown device.
     */
    showInHomeAssistant?(id: string, shown: boolean): Promise<HomeAssistantView | undefined>
    /** The counters but the HTTP server's own, which it adds. */
    stats(): Omit<StatsResponse, "http">
}

/** A client error with its HTTP status and the field at fault. */
export class ApiProblem extends Error {
    constructor(
        readonly status: number,
        message: string,
        readonly field?: string
    ) {
        super(message)
        this.name = "ApiProblem"
    }
}
