/**
 * The server's storage in one object. Between flushes, commit() stores what an ack promises cheaply, in
 * the staging tables, which flush() empties into their tables (database.ts, schema 3).
 */
import {
    BackgroundCheckpoints,
    type CheckpointMode,
    type CheckpointResult,
    type CheckpointOptions,
} from "./checkpoints"
import { DeviceConfigRows } from "./device-config-rows"
import { openDatabase, PRAGMAS, StoreError, writeError, type Db } from "./database"
import { History } from "./history"
import { Registry } from "./registry"
import { SavedSettings } from "./saved-settings"
import { SettingsLog } from "./settings-log"
import { DeviceRuleLog } from "./device-rule-log"

export { StoreError, openDatabase, SCHEMA_VERSION } from "./database"
export { DeviceConfigRows, DEVICE_CONFIG_KEY } from "./device-config-rows"
export { History, HISTORY_DEFAULTS, type HistoryOptions } from "./history"
export { Registry, type DeviceRecord, type DevicePatch, type UpdateOptions } from "./registry"
export {
    SavedSettings,
    canonicalJson,
    describeSetting,
    type ResolvedSetting,
    type SettingOrigin,
} from "./saved-settings"
export { SettingsLog, SETTINGS_LOG_DEFAULTS } from "./settings-log"
export { DeviceRuleLog } from "./device-rule-log"

export const STORE_DEFAULTS = {
    /** How often old history is pruned (ms); 0: never (call store.history.prune() yourself). */
    pruneEveryMs: 60 * 60 * 1000,
    /** Per event-loop turn, so pruning never holds the server up for long. */
    pruneSliceRows: 10_000,
    /** ms a slice waits, and looks again, while the WAL is reset (Store.writesWait) */
    pruneWaitMs: 50,
    /** flushSome() rewrites a device's row once every this many calls: at 5000 readings/s, 100 rows per write. */
    registryParts: 100,
    /**
     * flushSome() merges at most this many staged readings (6–15 ms here); the rest wait for its next call.
     * After a stall the backlog would otherwise go in one write: 20,000 rows held the server 70–250 ms.
     */
    mergeSliceRows: 2000,
}

export interface StoreOptions {
    /** History retention (ms); Infinity keeps everything. Default HISTORY_DEFAULTS.retentionMs. */
    retentionMs?: number
    pruneEveryMs?: number
    now?: () => number
    /** Hears background pruning and checkpoint failures, which never throw. */
    onError?: (err: Error) => void
    /** Default CHECKPOINTS. */
    checkpoints?: CheckpointOptions
}

export class Store {
    private db: Db | undefined
    private parts:
        | {
              history: History
              registry: Registry
              settings: SavedSettings
              settingsLog: SettingsLog
              deviceRuleLog: DeviceRuleLog
              deviceConfigs: DeviceConfigRows
          }
        | undefined
    private pruneTimer: NodeJS.Timeout | undefined
    /** The next slice of a pruning under way: on the next turn, or after pruneWaitMs. */
    private pruneSlice: NodeJS.Immediate | undefined
    private pruneWait: NodeJS.Timeout | undefined
    private checkpoints: BackgroundCheckpoints | undefined
    /** Rows commit() staged that no flush has moved yet. */
    private stagedRows = 0
    private part = 0
    /** The last link staged when flushSome() began a round of parts: all up to it are in rows by its end. */
    private roundLinks: number | undefined

    constructor(
        readonly path: string,
        private readonly options: StoreOptions = {}
    ) {}

    open(): void {
        if (this.db) return
        const db = openDatabase(this.path)
        const now = this.options.now
        const history = new History(db, { retentionMs: this.options.retentionMs, now })
        const registry = new Registry(db, STORE_DEFAULTS.registryParts)
        try {
            // What a crash left staged goes where it belongs before anything reads the tables.
            db.transaction(() => {
                history.merge()
                registry.recoverLinks()
            })()
            registry.load()
        } catch (err) {
            db.close()
            throw new StoreError(`cannot read the devices of database ${db.name}: ${(err as Error).message}`, db.name, {
                cause: err,
            })
        }
        this.db = db
        const settings = new SavedSettings(db, { now })
        this.parts = {
            history,
            registry,
            settings,
            settingsLog: new SettingsLog(db),
            deviceRuleLog: new DeviceRuleLog(db),
            deviceConfigs: new DeviceConfigRows(db, settings),
        }
        if (!db.memory) {
            this.checkpoints = new BackgroundCheckpoints(db, {
                ...PRAGMAS,
                ...this.options.checkpoints,
                onError: this.options.onError,
            })
            this.checkpoints.start()
        }
        const every = this.options.pruneEveryMs ?? STORE_DEFAULTS.pruneEveryMs
        if (every > 0 && Number.isFinite(history.retentionMs)) {
            // An interval that fires while slices are still running leaves them to finish.
            this.pruneTimer = setInterval(
                () => this.pruneSlice ?? this.pruneWait ?? this.pruneInSlices(),
                every
            ).unref()
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
    get settingsLog(): SettingsLog {
        return this.opened().settingsLog
    }
    get deviceRuleLog(): DeviceRuleLog {
        return this.opened().deviceRuleLog
    }

    get deviceConfigs(): DeviceConfigRows {
        return this.opened().deviceConfigs
    }

    /** One transaction; throws StoreError, keeping everything for the next flush. */
    flush(): number {
        return this.write("all")
    }

    /** For the timer: `count` registry parts; staged links go once every part was written after them. */
    flushSome(count = 1): number {
        if (count >= STORE_DEFAULTS.registryParts) return this.write("all")
        return this.write({ first: this.part, count: Math.max(1, Math.floor(count)) })
    }

    waitingRows(): number {
        return this.opened().history.pendingCount() + this.stagedRows
    }

    /** flush() for a query of the history: readings and commands only. */
    flushHistory(): number {
        return this.write("none")
    }

    private write(registryPart: { first: number; count: number } | "all" | "none"): number {
        const { history, registry } = this.opened()
        const parts = STORE_DEFAULTS.registryParts
        const all = registryPart === "all"
        const rowsWaiting = registryPart !== "none" && (registry.dirtyCount() > 0 || registry.linkCount() > 0)
        if (history.pendingCount() === 0 && this.stagedRows === 0 && !rowsWaiting) return 0
        const pending = history.takePending()
        const dirty = all
            ? registry.takeDirty()
            : registryPart === "none"
              ? new Set<string>()
              : registry.takeDirtyPart(registryPart.first, registryPart.count)
        // Whether these parts end a round of all parts, and start the next one.
        const range = typeof registryPart === "object" ? registryPart : undefined
        const includes = (part: number) => range !== undefined && (part - range.first + parts) % parts < range.count
        const endsRound = includes(parts - 1)
        const startsRound = includes(0)
        // A row written now holds its link: after a full write no staged one is needed, after a part
        // the changed ones are staged now, so the last staged link of a device is never older than its row.
        const links = registryPart === "none" ? new Set<string>() : registry.takeLinks()
        try {
            const written = this.db!.transaction(() => {
                const rows = history.stage(pending) + registry.writeDirty(dirty)
                const left = history.merge(range ? STORE_DEFAULTS.mergeSliceRows : Infinity)
                if (all) registry.clearStagedLinks()
                else if (range) {
                    registry.stageLinks(links)
                    // the round that ends here clears what was staged before it began, then the next begins
                    if (endsRound && this.roundLinks !== undefined) registry.clearStagedLinks(this.roundLinks)
                    if (startsRound) this.roundLinks = registry.lastStagedLink()
                }
                return { rows, left }
            })()
            this.stagedRows = written.left
            if (all) this.part = 0
            else if (range) this.part = (range.first + range.count) % parts
            if (all || (endsRound && !startsRound)) this.roundLinks = undefined
            return written.rows
        } catch (err) {
            history.returnPending(pending)
            registry.returnDirty(dirty)
            registry.returnLinks(links)
            throw writeError(this.db!, err)
        }
    }

    /** Throws StoreError, keeping everything for the next try: then nothing may be acknowledged. */
    commit(): number {
        const { history, registry } = this.opened()
        if (history.pendingCount() === 0 && registry.linkCount() === 0) return 0
        const pending = history.takePending()
        const links = registry.takeLinks()
        try {
            const written = this.db!.transaction(() => history.stage(pending) + registry.stageLinks(links))()
            this.stagedRows += written
            return written
        } catch (err) {
            history.returnPending(pending)
            registry.returnLinks(links)
            throw writeError(this.db!, err)
        }
    }

    /**
     * True while a write would wait for the checkpoint worker's WAL reset, stopping the server meanwhile:
     * writes that can wait (the timer's flush, acks) are better made a moment later.
     */
    get writesWait(): boolean {
        return this.checkpoints?.holdsWrites ?? false
    }

    /** Rejects when there is no worker (":memory:", or it failed). */
    checkpoint(mode: CheckpointMode = "PASSIVE"): Promise<CheckpointResult> {
        this.opened()
        if (!this.checkpoints) return Promise.reject(new Error(`Store ${this.path}: no background checkpoints`))
        return this.checkpoints.checkpoint(mode)
    }

    /** Safe to call twice. */
    close(): void {
        if (!this.db) return
        clearInterval(this.pruneTimer)
        if (this.pruneSlice) clearImmediate(this.pruneSlice)
        clearTimeout(this.pruneWait)
        this.pruneTimer = this.pruneSlice = this.pruneWait = undefined
        this.checkpoints?.stop()
        this.checkpoints = undefined
        try {
            this.flush()
            this.db.pragma("optimize")
            // Everything into the database file, so a copy of it alone, made once the server stopped, is whole.
            if (!this.db.memory) this.db.pragma("wal_checkpoint(TRUNCATE)")
        } finally {
            this.db.close()
            this.db = this.parts = undefined
        }
    }

    private opened(): NonNullable<Store["parts"]> {
        if (!this.parts) throw new Error(`Store ${this.path}: open() it first (or it was closed)`)
        return this.parts
    }

    private pruneInSlices(): void {
        this.pruneSlice = this.pruneWait = undefined
        if (!this.parts) return
        if (this.writesWait) {
            // a delete now would wait for the reset with the server's thread stopped
            this.pruneWait = setTimeout(() => this.pruneInSlices(), STORE_DEFAULTS.pruneWaitMs)
            return
        }
        try {
            const slice = STORE_DEFAULTS.pruneSliceRows
            const { history, settingsLog, deviceRuleLog } = this.parts
            // few rows (at most one a second, per device with a rule of its own): pruned whole, in one statement
            if (Number.isFinite(history.retentionMs)) {
                const cutoff = (this.options.now ?? Date.now)() - history.retentionMs
                settingsLog.prune(cutoff)
                deviceRuleLog.prune(cutoff)
            }
            if (history.prune(undefined, slice) >= slice) this.pruneSlice = setImmediate(() => this.pruneInSlices())
        } catch (err) {
            this.options.onError?.(new Error(`could not prune the history: ${(err as Error).message}`, { cause: err }))
        }
    }
}
