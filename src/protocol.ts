/**
 * The wire protocol on the device side, mirroring `server/protocol/contract.ts` (whose header describes
 * every field); the end-to-end tests prove they agree. Topics: `<id>/telemetry` device → server;
 * `<id>/commands` (retained, QoS 1), `<id>/acks` (retained) and `<id>/config` (retained, QoS 1)
 * server → device; `<id>/status` (retained, "offline" is the last will). Only "light" and "led_on" are the lesson's; the rest is optional.
 */
import type { Reading } from "./outbox"

/** Largest light value in the lesson's units (a 10-bit ADC reading). */
export const LIGHT_MAX = 1023

export function telemetryTopic(deviceId: string) {
    return `${deviceId}/telemetry`
}

export function commandsTopic(deviceId: string) {
    return `${deviceId}/commands`
}

export function acksTopic(deviceId: string) {
    return `${deviceId}/acks`
}

export function statusTopic(deviceId: string) {
    return `${deviceId}/status`
}

/** The device's configuration from the server (retained, QoS 1): src/device-config.ts. */
export function configTopic(deviceId: string) {
    return `${deviceId}/config`
}

/** The lesson's device client id. */
export function deviceClientId(deviceId: string) {
    return `${deviceId}nightlight_client`
}

/**
 * `oldest`: the oldest reading still held; the server acknowledges nothing past one it lacks below it.
 * `cfg`: the config version the device runs (0: none, left out); `cfgErr`: why it refused the last one.
 */
export function encodeTelemetry(
    r: Reading,
    boot: string,
    oldest: number,
    dropped: number,
    cfg?: number,
    cfgErr?: string
): string {
    const fields: any = {
        light: r.light,
        seq: r.seq,
        boot: boot,
        oldest: oldest,
        t: r.t,
        led: r.led,
        local: r.local,
        dropped: dropped,
    }
    if (cfg !== undefined && cfg > 0) fields["cfg"] = cfg
    if (cfgErr !== undefined) fields["cfgErr"] = cfgErr
    return JSON.stringify(fields)
}

/** A decoded command, or the reason it was refused. `seq` is 0 for the lesson's commands, which have none. */
export interface CommandResult {
    ledOn?: boolean
    seq?: number
    /** A person's switch (Home Assistant, the API): it holds against the light. */
    manual?: boolean
    error?: string
}

function parseObject(text: string): any {
    let value: any
    try {
        value = JSON.parse(text)
    } catch (e) {
        return undefined
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined
    return value
}

function isCount(v: any) {
    return typeof v === "number" && v >= 1 && Math.round(v) === v
}

/** Decodes `{"led_on": true|false, "seq"?: N, "manual"?: true}`; never throws. */
export function decodeCommand(text: string): CommandResult {
    const value = parseObject(text)
    if (value === undefined) return { error: `not a JSON object: ${preview(text)}` }
    const ledOn = value["led_on"]
    if (ledOn !== true && ledOn !== false) return { error: `"led_on" must be true or false: ${preview(text)}` }
    const seq = value["seq"]
    if (seq !== undefined && !isCount(seq)) return { error: `"seq" must be a whole number from 1: ${preview(text)}` }
    return { ledOn: ledOn, seq: seq === undefined ? 0 : seq, manual: value["manual"] === true }
}

export interface AckResult {
    boot?: string
    seq?: number
    error?: string
}

/** Decodes `{"boot": B, "seq": S}`; never throws. */
export function decodeAck(text: string): AckResult {
    const value = parseObject(text)
    if (value === undefined) return { error: `not a JSON object: ${preview(text)}` }
    const boot = value["boot"]
    const seq = value["seq"]
    if (typeof boot !== "string" || !isCount(seq)) return { error: `expected {"boot", "seq"}: ${preview(text)}` }
    return { boot: boot, seq: seq }
}

function preview(text: string) {
    return text.length > 40 ? text.slice(0, 40) + "..." : text
}
