/** The registry's records, rows and conversions, apart so registry.ts (re-exporting them) holds memory and SQL. */
export interface DeviceRecord {
    id: string
    /** ms since 1970 */
    firstSeen: number
    /** ms since 1970 */
    lastSeen: number
    /** From `<id>/status`; null until the device (or its will) said anything. */
    online: boolean | null
    light: number | null
    lightAt: number | null
    ledOn: boolean | null
    reportedLed: boolean | null
    /** true while the device decides by itself. */
    local: boolean | null
    lastCommand: { ledOn: boolean; at: number; reason: string } | null
    /** At the last ack; null for the lesson's device. */
    link: LinkRecord | null
}

export interface LinkRecord {
    boot: string
    acked: number
    clockOffset: number | null
}

export type DevicePatch = Partial<Omit<DeviceRecord, "id" | "firstSeen" | "lastSeen">>

export interface UpdateOptions {
    /** false: news about the device that did not come from it (a command sent to it); lastSeen stays. */
    seen?: boolean
}

/** Booleans as 0/1. */
export interface DeviceRow {
    name: string
    first_seen: number
    last_seen: number
    online: number | null
    light: number | null
    light_at: number | null
    led_on: number | null
    reported_led: number | null
    local: number | null
    command_led_on: number | null
    command_at: number | null
    command_reason: string | null
    boot: string | null
    acked: number | null
    clock_offset: number | null
}

export const toBool = (v: number | null): boolean | null => (v === null ? null : v === 1)
export const toInt = (v: boolean | null): number | null => (v === null ? null : v ? 1 : 0)

export function fromRow(row: DeviceRow): DeviceRecord {
    return {
        id: row.name,
        firstSeen: row.first_seen,
        lastSeen: row.last_seen,
        online: toBool(row.online),
        light: row.light,
        lightAt: row.light_at,
        ledOn: toBool(row.led_on),
        reportedLed: toBool(row.reported_led),
        local: toBool(row.local),
        lastCommand:
            row.command_at === null || row.command_led_on === null
                ? null
                : { ledOn: row.command_led_on === 1, at: row.command_at, reason: row.command_reason ?? "" },
        link:
            row.boot === null || row.acked === null
                ? null
                : { boot: row.boot, acked: row.acked, clockOffset: row.clock_offset },
    }
}

/** A device just heard of (fields in fromRow's order: one shape for every record). */
export const NOTHING_KNOWN: Omit<DeviceRecord, "id" | "firstSeen" | "lastSeen"> = {
    online: null,
    light: null,
    lightAt: null,
    ledOn: null,
    reportedLed: null,
    local: null,
    lastCommand: null,
    link: null,
}

/** The registry changes its own in place. */
export function copy(record: DeviceRecord): DeviceRecord {
    return { ...record, link: record.link && { ...record.link } }
}
