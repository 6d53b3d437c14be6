/**
 * The server's storage in one object: opens the database, loads the registry, writes the history and the
 * registry in one transaction per flush, prunes old history in the background, and flushes on close.
 */
import { openDatabase, StoreError, writeError, type Db } from "./database"
import { History } from "./history"
import { Registry } from "./registry"
import { SavedSettings } from "./saved-settings"

export { StoreError, openDatabase, SCHEMA_VERSION } from "./database"
export { History, HISTORY_DEFAULTS, type HistoryOptions } from "./history"
export { Registry, type DeviceRecord, type DevicePatch, type UpdateOptions } from "./registry"
export {
    SavedSettings,
    canonicalJson,
    describeSetting,
    type ResolvedSetting,
    type SettingOrigin,
} from "./saved-settings"

export const STORE_DEFAULTS = {
    /** How often old history is pruned (ms); 0: never (call store.history.prune() yourself). */
    pruneEveryMs: 60 * 60 * 1000,
    /** Rows pruned between two turns of the event loop, so pruning never holds the server up for long. */
    pruneSliceRows: 10_000,
}

export interface StoreOptions {
    /** History retention (ms); Infinity keeps everything. Default HISTORY_DEFAULTS.retentionMs. */
    retentionMs?: number
    pruneEveryMs?: number
    now?: () => number
    /** Hears failures of the background pruning (the server logs them); they never throw. */
    onError?: (err: Error) => void
}

export class Store {
    private db: Db | undefined
    private parts: { history: History; registry: Registry; settings: SavedSettings } | undefined
    private pruneTimer: NodeJS.Timeout | undefined
    private pruneSlice: NodeJS.Immediate | undefined

    constructor(
        /** A file path (its directory is created), or ":memory:". */
        readonly path: string,
        private readonly options: StoreOptions = {}
    ) {}

    /** Opens the database (throws StoreError naming the file), loads the registry, starts the pruning. */
    open(): void {
        if (this.db) return
        const db = openDatabase(this.path)
        const now = this.options.now
        const history = new History(db, { retentionMs: this.options.retentionMs, now })
        const registry = new Registry(db)
        try {
            registry.load()
        } catch (err) {
            db.close()
            throw new StoreError(`cannot read the devices of database ${db.name}: ${(err as Error).message}`, db.name, {
                cause: err,
            })
        }
        this.db = db
        this.parts = { history, registry, settings: new SavedSettings(db, { now }) }
        const every = this.options.pruneEveryMs ?? STORE_DEFAULTS.pruneEveryMs
        if (every > 0 && Number.isFinite(history.retentionMs)) {
            // An interval that fires while slices are still running leaves them to finish.
            this.pruneTimer = setInterval(() => this.pruneSlice ?? this.pruneInSlices(), every).unref()
            // Also soon after start: a server restarted more often than every pruneEveryMs still prunes.
            this.pruneSlice = setImmediate(() => this.pruneInSlices())
        }
    }

    get history(): History {
        return this.opened().history
    }
    get registry(): Registry {
        return this.opened().registry
    }
    get settings(): SavedSettings {
        return this.opened().settings
    }

    /**
     * Writes buffered readings, commands and changed devices in one transaction; returns the rows written
     * (0, without touching the database, when nothing waits). Throws StoreError, keeping everything for
     * the next flush, when the write fails: then nothing may be acknowledged.
     */
    flush(): number {
        const { history, registry } = this.opened()
        if (history.pendingCount() === 0 && registry.dirtyCount() === 0) return 0
        const pending = history.takePending()
        const dirty = registry.takeDirty()
        try {
            return this.db!.transaction(() => history.writePending(pending) + registry.writeDirty(dirty))()
        } catch (err) {
            history.returnPending(pending)
            registry.returnDirty(dirty)
            throw writeError(this.db!, err)
        }
    }

    /** Flushes, stops the pruning and closes the database. Safe to call twice. */
    close(): void {
        if (!this.db) return
        clearInterval(this.pruneTimer)
        if (this.pruneSlice) clearImmediate(this.pruneSlice)
        this.pruneTimer = this.pruneSlice = undefined
        try {
            this.flush()
            this.db.pragma("optimize")
        } finally {
            this.db.close()
            this.db = this.parts = undefined
        }
    }

    private opened(): NonNullable<Store["parts"]> {
        if (!this.parts) throw new Error(`Store ${this.path}: open() it first (or it was closed)`)
        return this.parts
    }

    /** One slice now, the next on a later turn of the event loop while old rows remain. */
    private pruneInSlices(): void {
        this.pruneSlice = undefined
        if (!this.parts) return
        try {
            const slice = STORE_DEFAULTS.pruneSliceRows
            if (this.parts.history.prune(undefined, slice) >= slice)
                this.pruneSlice = setImmediate(() => this.pruneInSlices())
        } catch (err) {
            this.options.onError?.(err as Error)
        }
    }
}
