/**
 * The pure half of Home Assistant discovery, after https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
 * and the sensor.mqtt and light.mqtt (default schema) pages.
 */
import { createHash } from "node:crypto"
import { LIGHT_MAX, topics } from "../protocol/contract"

export const HA_DEFAULTS = {
    prefix: "homeassistant",
    /** Set apart from the prefix in Home Assistant's MQTT options, and not changed with it. */
    birthTopic: "homeassistant/status",
    /** s before the sensor shows "unavailable" (0: never): the lesson's device has no will to say so. */
    expireAfterS: 60,
    /** Per run: any client can invent ids, each leaving two retained configs and a device in HA. */
    maxDevices: 1000,
}

/** Payload ON or OFF. */
export const setTopic = (deviceId: string) => `nightlight/${deviceId}/set`
export const SET_TOPIC_FILTER = "nightlight/+/set"

/**
 * Home Assistant templates (Jinja), checked against the payloads they meet in test/server/home-assistant/discovery.test.ts.
 * `value_json` exists only when the payload is JSON. A template that renders "" leaves the state as it
 * was: Home Assistant ignores an empty sensor value, an empty light state and an availability value
 * that matches neither payload. So a stray payload cannot show a bogus value. The sensor takes only what
 * the server would accept, a number in 0..LIGHT_MAX (in Jinja a boolean is a number, so it is ruled out).
 */
const validLight = `value_json is defined and value_json.light is number and value_json.light is not boolean and 0 <= value_json.light <= ${LIGHT_MAX}`
export const TEMPLATES = {
    light: `{{ value_json.light if ${validLight} else '' }}`,
    /** The light's state, from `<id>/commands`: {"led_on": true} → ON. */
    ledState:
        "{{ ('ON' if value_json.led_on else 'OFF') if value_json is defined and value_json.led_on is boolean else '' }}",
    /** A reading means the device is up; only the lesson's device needs this, as it sends no status. */
    aliveFromTelemetry: `{{ 'online' if ${validLight} else '' }}`,
} as const

const ORIGIN = { name: "nightlight server" }
/** An object id may only hold `[a-zA-Z0-9_-]` (discovery topic rules). */
const OBJECT_ID_PATTERN = /^[A-Za-z0-9_-]+$/
export const PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/

/**
 * A device id as a discovery object id. Device ids may also hold `.` and `:`, which object ids may
 * not. Such an id gets them replaced and a hash of the id added, so that "a.b" and "a_b" stay apart.
 */
export function objectKey(deviceId: string): string {
    if (OBJECT_ID_PATTERN.test(deviceId)) return deviceId
    const hash = createHash("sha256").update(deviceId).digest("hex").slice(0, 8)
    return `${deviceId.replace(/[^A-Za-z0-9_-]/g, "_")}_${hash}`
}

export interface DiscoveryConfig {
    topic: string
    config: Record<string, unknown>
}

/**
 * The id a birth topic of the shape `<id>/status` would be taken for by the devices' `+/status`
 * (`homeassistant` by default); undefined for a birth topic of another shape.
 */
export function birthStatusId(birthTopic: string): string | undefined {
    const levels = birthTopic.split("/")
    return levels.length === 2 && levels[1] === "status" ? levels[0] : undefined
}

/** Watched to notice a device deleted in Home Assistant, which clears its configs. */
export const configFilters = (prefix: string) => [`${prefix}/sensor/+/config`, `${prefix}/light/+/config`]

/** object_id = unique_id and no node_id (the documented best practice). */
export function configTopics(prefix: string, deviceId: string): { sensor: string; light: string } {
    const key = objectKey(deviceId)
    return {
        sensor: `${prefix}/sensor/nightlight_${key}_light/config`,
        light: `${prefix}/light/nightlight_${key}_led/config`,
    }
}

export function discoveryConfigs(
    deviceId: string,
    options: { prefix: string; expireAfterS: number }
): { sensor: DiscoveryConfig; light: DiscoveryConfig } {
    const key = objectKey(deviceId)
    const where = configTopics(options.prefix, deviceId)
    const shared = {
        device: {
            identifiers: [`nightlight_${deviceId}`],
            name: `Nightlight ${deviceId}`,
            model: "Nightlight",
            manufacturer: "IoT for Beginners",
        },
        origin: ORIGIN,
        // A list, not availability_topic: the status topic (the device's will says "offline"), and any
        // reading says "online" for devices that publish no status. "latest": the newest message wins.
        availability: [
            { topic: topics.status(deviceId), payload_available: "online", payload_not_available: "offline" },
            { topic: topics.telemetry(deviceId), value_template: TEMPLATES.aliveFromTelemetry },
        ],
        availability_mode: "latest",
    }
    const sensor = {
        name: "Light level",
        unique_id: `nightlight_${key}_light`,
        state_topic: topics.telemetry(deviceId),
        value_template: TEMPLATES.light,
        // Relative units of a 10-bit reading, not lux: no device_class "illuminance", no unit.
        state_class: "measurement",
        suggested_display_precision: 0,
        icon: "mdi:brightness-5",
        ...(options.expireAfterS > 0 ? { expire_after: options.expireAfterS } : {}),
        ...shared,
    }
    const light = {
        // null: the light is the device's main feature and is named after the device.
        name: null,
        unique_id: `nightlight_${key}_led`,
        command_topic: setTopic(deviceId),
        payload_on: "ON",
        payload_off: "OFF",
        // The server's retained command is the state. It is there at once when Home Assistant starts, and
        // it changes only once the server has acted on a switch.
        state_topic: topics.commands(deviceId),
        state_value_template: TEMPLATES.ledState,
        optimistic: false,
        qos: 1,
        // A retained switch would be applied again every time the server subscribes.
        retain: false,
        ...shared,
    }
    return { sensor: { topic: where.sensor, config: sensor }, light: { topic: where.light, config: light } }
}

/** "ON"/"OFF" in any case, spaces around allowed; undefined for anything else. */
export function parseSwitch(payload: Buffer | string): boolean | undefined {
    if (payload.length > 16) return undefined
    const text = payload.toString().trim().toUpperCase()
    return text === "ON" ? true : text === "OFF" ? false : undefined
}
