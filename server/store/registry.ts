/**
 * The device registry: what the server last knew of every device it has seen, in memory for the API and
 * the live view, and in the `devices` table to survive a restart. update() marks a device dirty; its row
 * is written with the history (Store.flush) or a part at a time (Store.flushSome), not once per reading.
 * A device's link (where its acks stand) must be stored with each ack, so Store.commit() appends it to
 * `staged_links`; later rows supersede them, and Store.open() applies what a crash left (recoverLinks).
 */
import { BulkInsert, writeError, type Db } from "./database"
import { deviceKeys, type DeviceKeys } from "./device-keys"
import { DirtyParts } from "./dirty-parts"
import {
    NOTHING_KNOWN,
    copy,
    fromRow,
    toInt,
    type DevicePatch,
    type DeviceRecord,
    type DeviceRow,
    type UpdateOptions,
} from "./registry-records"

export type { DevicePatch, DeviceRecord, LinkRecord, UpdateOptions } from "./registry-records"

export class Registry {
    /**
     * Changed in place: a reading makes no new record (they live until the device's next reading, long
     * enough for the garbage collector to move them to the old generation, which then has to be swept).
     * get() and list() hand out copies; peek() the record itself. A record's lastCommand is replaced,
     * never changed, and its link changed in place (get() copies it).
     */
    private readonly devices = new Map<string, DeviceRecord>()
    /** Devices whose row is to be written, by part (Store.flushSome writes a part at a time). */
    private readonly dirty: DirtyParts
    /** Devices whose link changed since it was last staged or written. */
    private linksDue = new Set<string>()
    private readonly keys: DeviceKeys
    private readonly sql

    constructor(
        private readonly db: Db,
        /** How many parts takeDirtyPart() splits the devices into (by key). */
        parts = 1
    ) {
        this.keys = deviceKeys(db)
        this.dirty = new DirtyParts(parts, this.keys)
        this.sql = {
            // Rows without first_seen were created by the history alone (never seen by the registry).
            all: db.prepare<[], DeviceRow>(
                "SELECT * FROM devices WHERE first_seen IS NOT NULL ORDER BY first_seen, id"
            ),
            write: db.prepare(
                `UPDATE devices SET first_seen = ?, last_seen = ?, online = ?, light = ?, light_at = ?, led_on = ?,
                 reported_led = ?, local = ?, command_led_on = ?, command_at = ?, command_reason = ?, boot = ?,
                 acked = ?, clock_offset = ? WHERE id = ?`
            ),
            stageLinks: new BulkInsert(db, "staged_links", 6),
            clearStagedLinks: db.prepare("DELETE FROM staged_links"),
            clearStagedLinksUpTo: db.prepare("DELETE FROM staged_links WHERE rowid <= ?"),
            lastStagedLink: db.prepare<[], number | null>("SELECT max(rowid) FROM staged_links").pluck(),
            // The last staged link of each device (a bare column beside max() comes from its row); a
            // device whose row was never written gets its first and last sight from it.
            recoverLinks: db.prepare(
                `UPDATE devices SET boot = s.boot, acked = s.acked, clock_offset = s.clock_offset,
                 first_seen = coalesce(devices.first_seen, s.first_seen),
                 last_seen = max(coalesce(devices.last_seen, s.last_seen), s.last_seen)
                 FROM (SELECT device, boot, acked, clock_offset, first_seen, last_seen, max(rowid)
                       FROM staged_links GROUP BY device) AS s
                 WHERE devices.id = s.device`
            ),
        }
    }

    /** Reads every stored device into memory (replacing what was there). */
    load(): void {
        this.devices.clear()
        this.dirty.clear()
        this.linksDue.clear()
        for (const row of this.sql.all.all()) this.devices.set(row.name, fromRow(row))
    }

    /** A copy of what the registry knows of `id`: it does not change afterwards. */
    get(id: string): DeviceRecord | undefined {
        const record = this.devices.get(id)
        return record && copy(record)
    }

    /**
     * The registry's own record of `id`, to read at once: it changes with the next update. For the
     * recorder (a look per reading) and views made on the spot.
     */
    peek(id: string): Readonly<DeviceRecord> | undefined {
        return this.devices.get(id)
    }

    /** The registry's own records, to read at once (as peek()), in the order first seen: no copies. */
    records(): IterableIterator<Readonly<DeviceRecord>> {
        return this.devices.values()
    }

    /** Every device (copies), in the order first seen (also after a restart). */
    list(): DeviceRecord[] {
        return [...this.devices.values()].map(copy)
    }

    /**
     * Applies `patch` (undefined fields are left alone) and sets lastSeen = now, unless `seen: false`. A
     * device not known yet is created with firstSeen = now. Memory only, until flush(). The patch's
     * objects are copied: the caller's could change later.
     */
    update(id: string, now: number, patch: DevicePatch, options: UpdateOptions = {}): void {
        let record = this.devices.get(id)
        if (!record) {
            record = { id, firstSeen: now, lastSeen: now, ...NOTHING_KNOWN }
            this.devices.set(id, record)
        } else if (options.seen !== false) record.lastSeen = now
        if (patch.online !== undefined) record.online = patch.online
        if (patch.light !== undefined) record.light = patch.light
        if (patch.lightAt !== undefined) record.lightAt = patch.lightAt
        if (patch.ledOn !== undefined) record.ledOn = patch.ledOn
        if (patch.reportedLed !== undefined) record.reportedLed = patch.reportedLed
        if (patch.local !== undefined) record.local = patch.local
        if (patch.lastCommand !== undefined) record.lastCommand = patch.lastCommand && { ...patch.lastCommand }
        if (patch.link !== undefined) {
            const link = patch.link
            if (link && record.link) {
                record.link.boot = link.boot
                record.link.acked = link.acked
                record.link.clockOffset = link.clockOffset
            } else record.link = link && { ...link }
            this.linksDue.add(id)
        }
        this.dirty.add(id)
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
            return this.db.transaction(() => {
                const written = this.writeDirty(taken)
                this.clearStagedLinks()
                return written
            })()
        } catch (err) {
            this.returnDirty(taken)
            throw writeError(this.db, err)
        }
    }

    /** For Store: the dirty devices, now no longer marked. */
    takeDirty(): Set<string> {
        return this.dirty.takeAll()
    }

    /**
     * For Store: the dirty devices of parts `part` to `part + count - 1` (round the end to the start) of
     * the constructor's `parts` (by key; one never written is in every part), now no longer marked.
     */
    takeDirtyPart(part: number, count = 1): Set<string> {
        return this.dirty.take(part, count)
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
            this.sql.write.run(
                r.firstSeen,
                r.lastSeen,
                toInt(r.online),
                r.light,
                r.lightAt,
                toInt(r.ledOn),
                toInt(r.reportedLed),
                toInt(r.local),
                r.lastCommand === null ? null : toInt(r.lastCommand.ledOn),
                r.lastCommand?.at ?? null,
                r.lastCommand?.reason ?? null,
                r.link?.boot ?? null,
                r.link?.acked ?? null,
                r.link?.clockOffset ?? null,
                this.keys.key(id)
            )
        }
        return taken.size
    }

    /**
     * For Store: drops the staged links (up to the one numbered `upTo`) once rows written since hold
     * them; must run inside a transaction.
     */
    clearStagedLinks(upTo?: number): void {
        if (upTo === undefined) this.sql.clearStagedLinks.run()
        else this.sql.clearStagedLinksUpTo.run(upTo)
    }

    /** For Store: the number of the last staged link (0: none). */
    lastStagedLink(): number {
        return this.sql.lastStagedLink.get() ?? 0
    }

    /** Devices whose link is to be staged (linksDue). */
    linkCount(): number {
        return this.linksDue.size
    }

    /** For Store: the devices whose link changed, now no longer marked. */
    takeLinks(): Set<string> {
        const taken = this.linksDue
        this.linksDue = new Set()
        return taken
    }

    /** For Store: marks again what a failed transaction did not stage. */
    returnLinks(taken: Set<string>): void {
        this.keys.forget()
        for (const id of taken) this.linksDue.add(id)
    }

    /** For Store: appends the current link of each of `taken` to `staged_links`; must run inside a transaction. */
    stageLinks(taken: Set<string>): number {
        const values: unknown[] = []
        for (const id of taken) {
            const r = this.devices.get(id)
            if (!r?.link) continue
            const { boot, acked, clockOffset } = r.link
            values.push(this.keys.key(id), boot, acked, clockOffset, r.firstSeen, r.lastSeen)
        }
        this.sql.stageLinks.run(values)
        return values.length / 6
    }

    /**
     * For Store, before load(): applies the links a crash left staged to the device rows and drops them.
     * Must run inside a transaction.
     */
    recoverLinks(): number {
        const applied = this.sql.recoverLinks.run().changes
        this.sql.clearStagedLinks.run()
        return applied
    }
}
