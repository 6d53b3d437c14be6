/**
 * The nightlight wire protocol: one typed map from topic to payload, shared by the server, the
 * simulated device tools and the tests. The firmware mirrors it in `src/protocol.ts`; the end-to-end
 * test proves the two agree.
 *
 * Compatible with IoT for Beginners lesson 4:
 *   `<id>/telemetry`  device → server  {"light": N}        N in 0..1023 (relative light level)
 *   `<id>/commands`   server → device  {"led_on": boolean}
 * Extra fields are allowed and ignored, so later protocol versions stay readable by the lesson's code
 * (and a newer device's readings by this server); the values of the fields we know are checked strictly
 * (zod schemas in parse.ts), and a payload over MAX_PAYLOAD_BYTES is refused before it is parsed.
 *
 * The reliable link (README "Wire protocol") adds optional fields and two topics:
 *   telemetry  + "seq" (1, 2, ... per boot), "boot" (random id per device start), "t" (device uptime ms),
 *                "oldest" (the oldest reading the device still holds: what it has not seen acknowledged),
 *                "led" (the LED as it is), "local" (true: the device decided itself), "dropped" (readings
 *                the full outbox lost since boot)
 *   commands   + "seq" (strictly increasing per device, also across server restarts), "t" (server ms
 *                since 1970), "manual" (true: a person switched it; it holds until the automatic decision
 *                changes, on every server of a share group); published retained with QoS 1
 *   `<id>/acks`    server → device  {"boot": B, "seq": S}   every reading of boot B up to S is stored;
 *                retained, so a restarted server knows where each device was
 *   `<id>/status`  device → all     "online" | "offline"  retained; "offline" is the device's last will
 */

/** Largest light value in the lesson's units (a 10-bit ADC reading). */
export const LIGHT_MAX = 1023

/** Payloads are tiny; anything bigger than this is rejected before parsing. */
export const MAX_PAYLOAD_BYTES = 1024

/** The lesson's rule: the LED is on when light < 300. */
export const DEFAULT_THRESHOLD = 300

export interface TelemetryPayload {
    light: number
    seq?: number
    boot?: string
    t?: number
    led?: boolean
    local?: boolean
    dropped?: number
    oldest?: number
}
export interface CommandPayload {
    led_on: boolean
    seq?: number
    t?: number
    manual?: boolean
}
export interface AckPayload {
    boot: string
    seq: number
}
export type StatusPayload = "online" | "offline"

/** Topic → payload type. */
export interface TopicPayloads {
    telemetry: TelemetryPayload
    commands: CommandPayload
    acks: AckPayload
    status: StatusPayload
}
export type TopicKind = keyof TopicPayloads

export const topics = {
    telemetry: (deviceId: string) => `${deviceId}/telemetry`,
    commands: (deviceId: string) => `${deviceId}/commands`,
    acks: (deviceId: string) => `${deviceId}/acks`,
    status: (deviceId: string) => `${deviceId}/status`,
    /** What the server subscribes to: telemetry of every device. */
    allTelemetry: "+/telemetry",
    /** Retained state the server rebuilds itself from after a restart. */
    allCommands: "+/commands",
    allAcks: "+/acks",
    allStatus: "+/status",
} as const

/** The lesson's client ids: `<ID>nightlight_client` for the device, `<ID>nightlight_server` for the server. */
export const clientIds = {
    device: (deviceId: string) => `${deviceId}nightlight_client`,
    server: (deviceId: string) => `${deviceId}nightlight_server`,
}

/** Longest device id: one topic level of a few words, far below MQTT's 64 KB topics. */
export const MAX_DEVICE_ID_LENGTH = 64
/**
 * A device id is one topic level: no wildcards, no separators, no control characters, no spaces or
 * other Unicode (they would be ambiguous in logs and URLs). Not only dots either: "." and ".." are path
 * segments every URL parser folds away (`/api/devices/../history` is `/api/history`).
 */
const DEVICE_ID_PATTERN = new RegExp(`^(?!\\.+$)[A-Za-z0-9_.:-]{1,${MAX_DEVICE_ID_LENGTH}}$`)
/** The rule in words, for error messages. */
export const DEVICE_ID_RULE = `1-${MAX_DEVICE_ID_LENGTH} letters, digits or _ . : -, not only dots`
/** `<id>/telemetry` with the longest id: anything longer is refused before it is searched. */
const MAX_TOPIC_LENGTH = MAX_DEVICE_ID_LENGTH + "/telemetry".length

export function isValidDeviceId(id: string): boolean {
    return DEVICE_ID_PATTERN.test(id)
}

/** Splits `<id>/<kind>`; undefined when the topic is not one of ours or the id is not valid. */
export function parseTopic(topic: string): { deviceId: string; kind: TopicKind } | undefined {
    if (topic.length > MAX_TOPIC_LENGTH) return undefined
    const slash = topic.indexOf("/")
    if (slash < 0 || topic.indexOf("/", slash + 1) >= 0) return undefined
    const deviceId = topic.slice(0, slash)
    const kind = topic.slice(slash + 1)
    if (kind !== "telemetry" && kind !== "commands" && kind !== "acks" && kind !== "status") return undefined
    if (!isValidDeviceId(deviceId)) return undefined
    return { deviceId, kind }
}

export function encode<K extends TopicKind>(_kind: K, payload: TopicPayloads[K]): string {
    return typeof payload === "string" ? payload : JSON.stringify(payload)
}

/**
 * How far above the threshold the light must rise before the LED goes off again (lesson units). A
 * sensor that sees its own LED reads higher once the LED is on; without a band that extra light turns
 * the LED off, which darkens the sensor, which turns it on... Near a 5 mm LED a Grove light sensor gains
 * tens of units; 100 leaves room for that and for sensor noise. 0 gives the lesson's exact rule.
 */
export const DEFAULT_BAND = 100

/** The lesson's decision rule, without memory. */
export function decideLed(light: number, threshold: number = DEFAULT_THRESHOLD): boolean {
    return light < threshold
}

/**
 * The rule with hysteresis, shared by server and firmware (src/light.ts): on below `threshold`, off
 * from `threshold + band` up, unchanged in between. With band 0, or no previous state, it is exactly the
 * lesson's rule (on below 300, off from 300).
 */
export function decideLedWithBand(
    light: number,
    previous: boolean | undefined,
    threshold: number,
    band: number
): boolean {
    if (light < threshold) return true
    if (light >= threshold + band) return false
    return previous ?? false
}

/**
 * The next command sequence number for a device: strictly above the last one, and never below the
 * server's clock in ms, so it still increases after a restart that lost all state.
 */
export function nextCommandSeq(previous: number | undefined, nowMs: number): number {
    return Math.max((previous ?? 0) + 1, Math.floor(nowMs))
}
