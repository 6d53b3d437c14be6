/** Device name → integer key; one per connection, shared by History and Registry. */
import type { Db } from "./database"

export class DeviceKeys {
    private readonly cache = new Map<string, number>()
    private readonly upsert
    private readonly select

    constructor(db: Db) {
        // DO UPDATE (a no-op) rather than DO NOTHING, so RETURNING also gives the key of an existing row.
        this.upsert = db
            .prepare<[string], number>(
                `INSERT INTO devices (name) VALUES (?)
                 ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id`
            )
            .pluck()
        this.select = db.prepare<[string], number>("SELECT id FROM devices WHERE name = ?").pluck()
    }

    key(name: string): number {
        let key = this.cache.get(name)
        if (key === undefined) {
            key = this.upsert.get(name) as number
            this.cache.set(name, key)
        }
        return key
    }

    find(name: string): number | undefined {
        const cached = this.cache.get(name)
        if (cached !== undefined) return cached
        const key = this.select.get(name)
        if (key !== undefined) this.cache.set(name, key)
        return key
    }

    cached(name: string): number | undefined {
        return this.cache.get(name)
    }

    /** After a failed transaction: a key created inside it was rolled back and may go to another name. */
    forget(): void {
        this.cache.clear()
    }
}

const sharedKeys = new WeakMap<Db, DeviceKeys>()

export function deviceKeys(db: Db): DeviceKeys {
    let keys = sharedKeys.get(db)
    if (!keys) {
        keys = new DeviceKeys(db)
        sharedKeys.set(db, keys)
    }
    return keys
}
