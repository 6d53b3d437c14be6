/**
 * The device registry: every device the server has seen, with what it last knew of it, kept in memory
 * for the API and the live view and written to the `devices` table so it survives a restart.
 *
 * update() only changes memory and marks the device dirty; flush() writes the dirty ones in one
 * transaction. The server calls it with the history's flush (Store.flush), so a reading and the
 * registry's "last reading" are stored together.
 */
import { deviceKeys, writeError, type Db, type DeviceKeys } from "./database"

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

interface DeviceRow {
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

const toBool = (v: number | null): boolean | null => (v === null ? null : v === 1)
const toInt = (v: boolean | null): number | null => (v === null ? null : v ? 1 : 0)

function fromRow(row: DeviceRow): DeviceRecord {
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

export class Registry {
    /** Records are replaced, never mutated, so a record handed out stays as it was. */
    private readonly devices = new Map<string, Readonly<DeviceRecord>>()
    private dirty = new Set<string>()
    private readonly keys: DeviceKeys
    private readonly sql

    constructor(private readonly db: Db) {
        this.keys = deviceKeys(db)
        this.sql = {
            // Rows without first_seen were created by the history alone (never seen by the registry).
            all: db.prepare<[], DeviceRow>(
                "SELECT * FROM devices WHERE first_seen IS NOT NULL ORDER BY first_seen, id"
            ),
            write: db.prepare(
                `UPDATE devices SET first_seen = @first_seen, last_seen = @last_seen, online = @online,
                 light = @light, light_at = @light_at, led_on = @led_on, reported_led = @reported_led,
                 local = @local, command_led_on = @command_led_on, command_at = @command_at,
                 command_reason = @command_reason, boot = @boot, acked = @acked, clock_offset = @clock_offset
                 WHERE id = @key`
            ),
        }
    }

    /** Reads every stored device into memory (replacing what was there). */
    load(): void {
        this.devices.clear()
        this.dirty.clear()
        for (const row of this.sql.all.all()) this.devices.set(row.name, fromRow(row))
    }

    get(id: string): Readonly<DeviceRecord> | undefined {
        return this.devices.get(id)
    }

    /** Every device, in the order first seen (also after a restart). */
    list(): Readonly<DeviceRecord>[] {
        return [...this.devices.values()]
    }

    /**
     * Applies `patch` (undefined fields are left alone) and sets lastSeen = now, unless `seen: false`. A
     * device not known yet is created with firstSeen = now. Memory only, until flush().
     */
    update(id: string, now: number, patch: DevicePatch, options: UpdateOptions = {}): Readonly<DeviceRecord> {
        const before = this.devices.get(id)
        const record: DeviceRecord = before
            ? { ...before }
            : {
                  id,
                  firstSeen: now,
                  lastSeen: now,
                  online: null,
                  light: null,
                  lightAt: null,
                  ledOn: null,
                  reportedLed: null,
                  local: null,
                  lastCommand: null,
                  link: null,
              }
        for (const [field, value] of Object.entries(patch))
            if (value !== undefined) (record as unknown as Record<string, unknown>)[field] = value
        // The caller's object could change later; ours must not.
        if (record.lastCommand) record.lastCommand = { ...record.lastCommand }
        if (record.link) record.link = { ...record.link }
        if (options.seen !== false) record.lastSeen = now
        this.devices.set(id, record)
        this.dirty.add(id)
        return record
    }

    dirtyCount(): number {
        return this.dirty.size
    }

    /**
     * Writes every changed device in one transaction; returns how many. Throws StoreError on failure,
     * keeping them dirty for the next flush.
     */
    flush(): number {
        if (this.dirty.size === 0) return 0
        const taken = this.takeDirty()
        try {
            return this.db.transaction(() => this.writeDirty(taken))()
        } catch (err) {
            this.returnDirty(taken)
            throw writeError(this.db, err)
        }
    }

    /** For Store: the dirty devices, now no longer marked. */
    takeDirty(): Set<string> {
        const taken = this.dirty
        this.dirty = new Set()
        return taken
    }

    /** For Store: marks again what a failed transaction did not write. */
    returnDirty(taken: Set<string>): void {
        this.keys.forget()
        for (const id of taken) this.dirty.add(id)
    }

    /** For Store: writes the devices' current records; must run inside a transaction. */
    writeDirty(taken: Set<string>): number {
        for (const id of taken) {
            const r = this.devices.get(id)
            if (!r) continue
            this.sql.write.run({
                key: this.keys.key(id),
                first_seen: r.firstSeen,
                last_seen: r.lastSeen,
                online: toInt(r.online),
                light: r.light,
                light_at: r.lightAt,
                led_on: toInt(r.ledOn),
                reported_led: toInt(r.reportedLed),
                local: toInt(r.local),
                command_led_on: r.lastCommand === null ? null : toInt(r.lastCommand.ledOn),
                command_at: r.lastCommand?.at ?? null,
                command_reason: r.lastCommand?.reason ?? null,
                boot: r.link?.boot ?? null,
                acked: r.link?.acked ?? null,
                clock_offset: r.link?.clockOffset ?? null,
            })
        }
        return taken.size
    }
}
