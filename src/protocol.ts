/**
 * The nightlight wire protocol on the device side. Mirrors `server/protocol.ts` (the typed contract
 * the server and tests use); the end-to-end test proves the two agree.
 *
 *   `<id>/telemetry`  device → server  {"light": N}        N in 0..1023
 *   `<id>/commands`   server → device  {"led_on": boolean}
 */

/** Largest light value in the lesson's units (a 10-bit ADC reading). */
export const LIGHT_MAX = 1023

export function telemetryTopic(deviceId: string) {
    return `${deviceId}/telemetry`
}

export function commandsTopic(deviceId: string) {
    return `${deviceId}/commands`
}

/** The lesson's device client id. */
export function deviceClientId(deviceId: string) {
    return `${deviceId}nightlight_client`
}

export function encodeTelemetry(light: number): string {
    return JSON.stringify({ light: light })
}

/** A decoded command, or the reason it was refused. */
export interface CommandResult {
    ledOn?: boolean
    error?: string
}

/** Decodes `{"led_on": true|false}`; never throws. */
export function decodeCommand(text: string): CommandResult {
    let value: any
    try {
        value = JSON.parse(text)
    } catch (e) {
        return { error: `not JSON: ${preview(text)}` }
    }
    if (value === null || typeof value !== "object" || Array.isArray(value))
        return { error: `not a JSON object: ${preview(text)}` }
    const ledOn = value["led_on"]
    if (ledOn !== true && ledOn !== false) return { error: `"led_on" must be true or false: ${preview(text)}` }
    return { ledOn: ledOn }
}

function preview(text: string) {
    return text.length > 40 ? text.slice(0, 40) + "..." : text
}
