/**
 * The device registry, in memory and in `devices`; a row is written with a flush, not once per reading.
 * A link must be stored with each ack, so commit() appends it to `staged_links`, which later rows supersede.
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
    /** Changed in place: a record per reading would reach the GC's old generation. get() and list() copy. */
    private readonly devices = new Map<string, DeviceRecord>()
    private readonly dirty: DirtyParts
    private linksDue = new Set<string>()
    private readonly keys: DeviceKeys
    private readonly sql

    constructor(
        private readonly db: Db,
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

    load(): void {
        this.devices.clear()
        this.dirty.clear()
        this.linksDue.clear()
        for (const row of this.sql.all.all()) this.devices.set(row.name, fromRow(row))
    }

    get(id: string): DeviceRecord | undefined {
        const record = this.devices.get(id)
        return record && copy(record)
    }

    /** The record itself, to read at once: it changes with the next update. */
    peek(id: string): Readonly<DeviceRecord> | undefined {
        return this.devices.get(id)
    }

    /** The records themselves, no copies: read them at once, as peek(). */
    records(): IterableIterator<Readonly<DeviceRecord>> {
        return this.devices.values()
    }

    /** Copies, in the order first seen (also after a restart). */
    list(): DeviceRecord[] {
        return [...this.devices.values()].map(copy)
    }

    /** Memory only, until flush(). The patch's objects are copied: the caller's could change later. */
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

    /** Throws StoreError on failure, keeping them dirty for the next flush. */
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

    takeDirty(): Set<string> {
        return this.dirty.takeAll()
    }

    /** See DirtyParts.take. */
    takeDirtyPart(part: number, count = 1): Set<string> {
        return this.dirty.take(part, count)
    }

    returnDirty(taken: Set<string>): void {
        this.keys.forget()
        for (const id of taken) this.dirty.add(id)
    }

    /** Inside a transaction. */
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

    /** Inside a transaction, once rows written since hold them. */
    clearStagedLinks(upTo?: number): void {
        if (upTo === undefined) this.sql.clearStagedLinks.run()
        else this.sql.clearStagedLinksUpTo.run(upTo)
    }

    /** 0: none. */
    lastStagedLink(): number {
        return this.sql.lastStagedLink.get() ?? 0
    }

    linkCount(): number {
        return this.linksDue.size
    }

    takeLinks(): Set<string> {
        const taken = this.linksDue
        this.linksDue = new Set()
        return taken
    }

    returnLinks(taken: Set<string>): void {
        this.keys.forget()
        for (const id of taken) this.linksDue.add(id)
    }

    /** Inside a transaction. */
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

    /** Before load(), inside a transaction: what a crash left staged. */
    recoverLinks(): number {
        const applied = this.sql.recoverLinks.run().changes
        this.sql.clearStagedLinks.run()
        return applied
    }
}
