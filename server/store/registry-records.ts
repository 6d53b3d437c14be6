/**
 * The device registry's records (registry.ts): what the server knows of each device, the row of the
 * `devices` table it is stored in, and the pure conversions between the two. Kept apart so registry.ts
 * holds the memory and the SQL alone; every public name is re-exported from registry.ts, where the rest
 * of the server imports them.
 */
export interface DeviceRecord {
    id: string
    /** ms since 1970 when the server first heard of the device. */
    firstSeen: number
    /** ms since 1970 when the device was last heard from. */
    lastSeen: number
    /** From `<id>/status`; null until the device (or its will) said anything. */
    online: boolean | null
    /** The last reading's light, and when it was taken. */
    light: number | null
    lightAt: number | null
    /** The server's decision for the LED. */
    ledOn: boolean | null
    /** The LED as the device last reported it. */
    reportedLed: boolean | null
    /** The device's `local` flag: true while it decides by itself (who decides: the device). */
    local: boolean | null
    lastCommand: { ledOn: boolean; at: number; reason: string } | null
    /**
     * Where the device's reliable link stood at the last ack: its boot, every reading of it up to `acked`
     * stored, and its clock (server time minus device uptime). Null for the lesson's device.
     */
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

/** A row of the `devices` table as SQLite returns it (booleans as 0/1). */
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

/** A record to hand out: the registry changes its own in place. */
export function copy(record: DeviceRecord): DeviceRecord {
    return { ...record, link: record.link && { ...record.link } }
}
