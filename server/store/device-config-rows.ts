/**
 * The devices' config as saved (controller/device-config.ts): the fleet's part is one small value in
 * settings; each device's and group's own values and each device's version are a row (tables of their
 * own, database.ts), so a change writes its own rows, whatever the number of overrides.
 */
import type { DeviceConfigChanges, DeviceConfigStore } from "../controller/device-config"
import { writeError, type Db } from "./database"
import { canonicalJson, type SavedSettings } from "./saved-settings"

/** The settings key of the fleet's part (before the rows, of everything, as one JSON value). */
export const DEVICE_CONFIG_KEY = "deviceConfig"

/** What the one JSON value held beside the fleet's part before the rows. */
const MOVED_INTO_ROWS = ["versions", "groups", "devices", "members"]

export class DeviceConfigRows implements DeviceConfigStore {
    private readonly sql
    /** The fleet's part as last written: unchanged, it is not written again. */
    private fleetJson: string | undefined

    constructor(
        private readonly db: Db,
        private readonly settings: SavedSettings
    ) {
        this.sql = {
            devices: db.prepare<[], { device: string; override: string }>(
                "SELECT device, override FROM device_config_devices"
            ),
            groups: db.prepare<[], { name: string; override: string; members: string }>(
                "SELECT name, override, members FROM device_config_groups"
            ),
            versions: db.prepare<[], { device: string; version: unknown }>(
                "SELECT device, version FROM device_config_versions"
            ),
            putDevice: db.prepare<[string, string]>(
                `INSERT INTO device_config_devices (device, override) VALUES (?, ?)
                 ON CONFLICT (device) DO UPDATE SET override = excluded.override`
            ),
            putGroup: db.prepare<[string, string, string]>(
                `INSERT INTO device_config_groups (name, override, members) VALUES (?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET override = excluded.override, members = excluded.members`
            ),
            putVersion: db.prepare<[string, unknown]>(
                `INSERT INTO device_config_versions (device, version) VALUES (?, ?)
                 ON CONFLICT (device) DO UPDATE SET version = excluded.version`
            ),
            removeDevice: db.prepare<[string]>("DELETE FROM device_config_devices WHERE device = ?"),
            removeGroup: db.prepare<[string]>("DELETE FROM device_config_groups WHERE name = ?"),
            removeVersion: db.prepare<[string]>("DELETE FROM device_config_versions WHERE device = ?"),
        }
    }

    /**
     * Everything saved, as one SavedDeviceConfigs; undefined when nothing is. A value saved whole by an
     * older server is first moved into the rows. Rows are handed on unchecked: DeviceConfigs checks them.
     */
    load(): unknown {
        const stored = this.settings.get<unknown>(DEVICE_CONFIG_KEY)
        const fleet =
            isObject(stored) && MOVED_INTO_ROWS.some(key => key in stored) ? this.moveIntoRows(stored) : stored
        this.fleetJson = fleet === undefined ? undefined : canonicalJson(fleet)
        const devices = this.sql.devices.all()
        const groups = this.sql.groups.all()
        const versions = this.sql.versions.all()
        if (devices.length + groups.length + versions.length === 0) return fleet
        return {
            ...(isObject(fleet) ? fleet : {}),
            versions: Object.fromEntries(versions.map(r => [r.device, r.version])),
            devices: Object.fromEntries(devices.map(r => [r.device, parse(r.override)])),
            groups: Object.fromEntries(groups.map(r => [r.name, parse(r.override)])),
            members: Object.fromEntries(groups.map(r => [r.name, parse(r.members)])),
        }
    }

    /** One transaction: the fleet's part when it changed, and a row written or deleted per entry. */
    save(changes: DeviceConfigChanges): void {
        const fleetJson = canonicalJson(changes.fleet)
        const { sql } = this
        try {
            this.db.transaction(() => {
                if (fleetJson !== this.fleetJson) this.settings.set(DEVICE_CONFIG_KEY, changes.fleet)
                for (const [id, override] of changes.devices)
                    if (override) sql.putDevice.run(id, canonicalJson(override))
                    else sql.removeDevice.run(id)
                for (const [name, group] of changes.groups)
                    if (group) sql.putGroup.run(name, canonicalJson(group.override), canonicalJson(group.members))
                    else sql.removeGroup.run(name)
                // a fleet change may write or delete 10,000: ~20 ms (one statement over JSON saved ~40%)
                for (const [id, version] of changes.versions)
                    if (version === undefined) sql.removeVersion.run(id)
                    else sql.putVersion.run(id, version)
            })()
        } catch (err) {
            throw writeError(this.db, err)
        }
        this.fleetJson = fleetJson
    }

    /** An older server's one value: its entries become rows and it keeps the fleet's part, in one transaction. */
    private moveIntoRows(saved: Record<string, unknown>): Record<string, unknown> {
        const { sql } = this
        const fleet = Object.fromEntries(Object.entries(saved).filter(([key]) => !MOVED_INTO_ROWS.includes(key)))
        const members = isObject(saved.members) ? saved.members : {}
        this.db.transaction(() => {
            for (const [id, override] of entries(saved.devices)) sql.putDevice.run(id, canonicalJson(override))
            for (const [name, override] of entries(saved.groups))
                sql.putGroup.run(name, canonicalJson(override), canonicalJson(members[name] ?? []))
            // as it was, even when it is not a version: DeviceConfigs leaves it out with a warning
            for (const [id, version] of entries(saved.versions))
                sql.putVersion.run(id, typeof version === "number" ? version : canonicalJson(version))
            this.settings.set(DEVICE_CONFIG_KEY, fleet)
        })()
        return fleet
    }
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value)
}

function entries(value: unknown): [string, unknown][] {
    return isObject(value) ? Object.entries(value) : []
}

/** Stored JSON; the text itself when it is not JSON (a hand-edited row), which DeviceConfigs then refuses. */
function parse(text: string): unknown {
    try {
        return JSON.parse(text)
    } catch {
        return text
    }
}
