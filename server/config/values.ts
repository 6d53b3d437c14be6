/** Parsers of flag and variable values; a SettingsError names the flag or variable. Pure. */
import { DEVICE_ID_RULE, isValidDeviceId } from "../protocol/contract"

/** A bad flag or variable; the message names it and the offending value, on one line. */
export class SettingsError extends Error {
    override name = "SettingsError"
}

/** A raw value and where it came from, so errors name the flag or the variable the user actually set. */
export interface Source {
    value: string
    name: string
}

export function parsePath(source: Source | undefined): string | undefined {
    if (!source) return undefined
    if (/[\u0000-\u001f]/.test(source.value)) throw invalid(source, "expected a file or folder path")
    return source.value
}

export function parseToken(source: Source | undefined): { token?: string } {
    if (!source) return {}
    // printable ASCII without spaces: it travels in a header, a cookie and a URL
    if (!/^[\x21-\x7e]{16,256}$/.test(source.value))
        throw new SettingsError(`invalid ${source.name}: expected 16 to 256 printable characters without spaces`)
    return { token: source.value }
}

export function parseHostOr(source: Source | undefined, fallback: string): string {
    return source ? parseHost(source) : fallback
}

/** Topic levels without wildcards (a discovery prefix, a birth topic); `example` goes in the error. */
export function parseTopicPrefix(source: Source | undefined, fallback: string, example = "homeassistant"): string {
    if (!source) return fallback
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(source.value))
        throw invalid(source, `expected topic levels of letters, digits, _ or -, such as ${example}`)
    return source.value
}

/** A share group's name (docs/scale-out.md): one MQTT topic level, no wildcards (MQTT 5.0 §4.8.2). */
export function parseShareGroup(source: Source | undefined): string | undefined {
    if (!source) return undefined
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(source.value))
        throw invalid(source, "expected 1-64 letters, digits, _ . : or - (no / + #), such as nightlight")
    return source.value
}

export const MQTT_URL_PROTOCOLS = ["mqtt:", "mqtts:", "ws:", "wss:"]

export function parseMqttUrl(source: Source): string {
    let url: URL
    try {
        url = new URL(source.value)
    } catch {
        throw invalid(source, "expected a URL such as mqtt://127.0.0.1:1883")
    }
    if (!MQTT_URL_PROTOCOLS.includes(url.protocol))
        throw invalid(source, `the scheme must be one of ${MQTT_URL_PROTOCOLS.map(p => p + "//").join(", ")}`)
    if (url.hostname === "") throw invalid(source, "the URL has no host")
    return source.value
}

export function parseHost(source: Source): string {
    // Not a full hostname grammar: just enough to catch a URL or a stray port given where a host belongs.
    if (!/^[A-Za-z0-9.:_-]+$/.test(source.value) || source.value.includes("//"))
        throw invalid(source, "expected an IP address or host name, such as 127.0.0.1 or 0.0.0.0")
    return source.value
}

export function parseIntegerIn(source: Source | undefined, fallback: number, min: number, max: number): number {
    if (!source) return fallback
    const n = /^\d+$/.test(source.value) ? Number(source.value) : NaN
    if (!Number.isSafeInteger(n) || n < min || n > max)
        throw invalid(source, `expected an integer from ${min} to ${max}`)
    return n
}

export function parseBoolean(source: Source | undefined, fallback: boolean): boolean {
    if (!source) return fallback
    const v = source.value.toLowerCase()
    if (v === "1" || v === "true") return true
    if (v === "0" || v === "false") return false
    throw invalid(source, "expected 0, 1, true or false")
}

export function parseDeviceId(source: Source | undefined, fallback: string): string {
    if (!source) return fallback
    if (!isValidDeviceId(source.value))
        throw invalid(source, `expected ${DEVICE_ID_RULE} (it becomes one MQTT topic level)`)
    return source.value
}

export function parseOneOf<T extends string>(source: Source | undefined, fallback: T, allowed: readonly T[]): T {
    if (!source) return fallback
    const value = source.value.toLowerCase()
    if (!(allowed as readonly string[]).includes(value)) throw invalid(source, `expected one of ${allowed.join(", ")}`)
    return value as T
}

export function invalid(source: Source, expected: string): SettingsError {
    return new SettingsError(`invalid ${source.name} ${JSON.stringify(redactUrl(source.value))}: ${expected}`)
}

/** A broker URL for logs and messages: any password is replaced by ***. */
export function redactUrl(text: string): string {
    try {
        const url = new URL(text)
        if (url.password === "") return text
        url.password = "***"
        return url.toString()
    } catch {
        return text
    }
}
