/**
 * Settings changed at run time, reconciled with the configuration by "the most recent change wins": a
 * configuration changed since the value was saved wins; else the run-time value does.
 */
import type { Db } from "./database"

export type SettingOrigin =
    /** The configuration, with nothing changed at run time (or the saved value is not valid any more). */
    | "configured"
    /** The configuration changed since the last start: it replaced the value changed at run time. */
    | "configured-changed"
    /** Changed at run time, and the configuration is unchanged since. */
    | "saved"

export interface ResolvedSetting<T> {
    key: string
    value: T
    origin: SettingOrigin
    configured: T
    /** When the value was changed at run time (ms since 1970); null when origin is not "saved". */
    changedAt: number | null
    /** "configured-changed": the run-time value that was dropped. */
    replaced?: unknown
}

interface SettingRow {
    value: string
    configured: string | null
    changed_at: number | null
}

/** JSON with object keys sorted, so equal values give equal text. Throws TypeError on non-JSON values. */
export function canonicalJson(value: unknown): string {
    return JSON.stringify(sorted(value, "value"))
}

function sorted(value: unknown, path: string): unknown {
    if (value === null || typeof value === "string" || typeof value === "boolean") return value
    if (typeof value === "number") {
        if (!Number.isFinite(value)) throw new TypeError(`${path} is not a JSON value: ${value}`)
        return value
    }
    if (Array.isArray(value)) return value.map((item, i) => sorted(item, `${path}[${i}]`))
    if (typeof value === "object") {
        // no prototype: a "__proto__" key (a device id may be one) is a property, not the prototype
        const out = Object.create(null) as Record<string, unknown>
        const object = value as Record<string, unknown>
        for (const key of Object.keys(object).sort())
            if (object[key] !== undefined) out[key] = sorted(object[key], `${path}.${key}`)
        return out
    }
    throw new TypeError(`${path} is not a JSON value: ${typeof value}`)
}

/** Parses stored JSON; undefined for text that is not JSON (a hand-edited database). */
function parse(text: string | null): unknown {
    if (text === null) return undefined
    try {
        return JSON.parse(text)
    } catch {
        return undefined
    }
}

export class SavedSettings {
    private readonly now: () => number
    private readonly sql

    constructor(db: Db, options: { now?: () => number } = {}) {
        this.now = options.now ?? Date.now
        this.sql = {
            get: db.prepare<[string], SettingRow>("SELECT value, configured, changed_at FROM settings WHERE key = ?"),
            put: db.prepare(
                `INSERT INTO settings (key, value, configured, changed_at)
                 VALUES (@key, @value, @configured, @changed_at)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, configured = excluded.configured,
                 changed_at = excluded.changed_at`
            ),
            set: db.prepare(
                `INSERT INTO settings (key, value, configured, changed_at) VALUES (@key, @value, NULL, @changed_at)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, changed_at = excluded.changed_at`
            ),
        }
    }

    resolve<T>(key: string, configured: T, isValid?: (value: unknown) => boolean): T {
        return this.resolveWithOrigin(key, configured, isValid).value
    }

    /** A saved value `isValid` rejects (an older version's limits) is replaced by the configured one. */
    resolveWithOrigin<T>(key: string, configured: T, isValid?: (value: unknown) => boolean): ResolvedSetting<T> {
        const configuredJson = canonicalJson(configured)
        const row = this.sql.get.get(key)
        const saved = parse(row?.value ?? null)
        const savedConfigured = parse(row?.configured ?? null)
        const usable = row !== undefined && saved !== undefined && (!isValid || isValid(saved))
        const useConfigured = (origin: SettingOrigin, replaced?: unknown): ResolvedSetting<T> => {
            this.sql.put.run({ key, value: configuredJson, configured: configuredJson, changed_at: null })
            return { key, value: configured, origin, configured, changedAt: null, replaced }
        }
        if (!usable) return useConfigured("configured")
        const savedJson = canonicalJson(saved)
        // No configured value on record: set() ran before any resolve(); the run-time change is the latest.
        if (savedConfigured !== undefined && canonicalJson(savedConfigured) !== configuredJson)
            return savedJson === canonicalJson(savedConfigured)
                ? useConfigured("configured")
                : useConfigured("configured-changed", saved)
        if (savedConfigured === undefined)
            this.sql.put.run({ key, value: savedJson, configured: configuredJson, changed_at: row.changed_at })
        if (savedJson === configuredJson)
            return { key, value: configured, origin: "configured", configured, changedAt: null }
        return { key, value: saved as T, origin: "saved", configured, changedAt: row.changed_at }
    }

    /** Saves a value changed at run time; it wins over the configuration until the configuration changes. */
    set<T>(key: string, value: T): void {
        this.sql.set.run({ key, value: canonicalJson(value), changed_at: this.now() })
    }

    get<T>(key: string): T | undefined {
        return parse(this.sql.get.get(key)?.value ?? null) as T | undefined
    }
}

/**
 * One log line for a resolved setting, e.g. `threshold 280 (changed at run time 2025-03-01T20:15:00.000Z;
 * --threshold 300 is unchanged since)`. `configuredAs` names where the configuration comes from.
 */
export function describeSetting(setting: ResolvedSetting<unknown>, configuredAs: string): string {
    const show = (value: unknown) => canonicalJson(value)
    const head = `${setting.key} ${show(setting.value)}`
    if (setting.origin === "saved") {
        const when = setting.changedAt === null ? "" : ` ${new Date(setting.changedAt).toISOString()}`
        return `${head} (changed at run time${when}; ${configuredAs} ${show(setting.configured)} is unchanged since)`
    }
    if (setting.origin === "configured-changed")
        return (
            `${head} (${configuredAs} changed since the last start; ` +
            `it replaces ${show(setting.replaced)} set at run time)`
        )
    return head
}
