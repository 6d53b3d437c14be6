/**
 * The SQLite database and its migrations. `synchronous = NORMAL` may lose the last commits on a power
 * cut, never corrupt the file. An application id makes some other SQLite file fail at once, clearly.
 */
import Database from "better-sqlite3"
import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"

export type Db = Database.Database

/** "NLIT": marks a nightlight database (`PRAGMA application_id`). */
export const APPLICATION_ID = 0x4e4c4954

export const PRAGMAS = {
    /** ms a statement waits for another connection's lock (a backup tool, the sqlite3 shell) before failing. */
    busyTimeoutMs: 5000,
    /** bytes: the WAL file does not stay huge after a burst. */
    journalSizeLimit: 64 * 1024 * 1024,
}

/**
 * Schema versions, oldest first; `PRAGMA user_version` is the number applied. Append, never edit: a
 * database written by this version must open in every later one.
 *
 * readings: one row per reading, clustered by (device, t) so a device's time range is one contiguous
 *   range of the B-tree. `device` is the small integer key from `devices`, not the name: rows stay ~19
 *   bytes, which matters at tens of millions of rows. `light` is REAL because the protocol allows
 *   fractional light; SQLite writes integral REAL values as small integers, so the lesson's integer
 *   readings cost no more than in an INTEGER column. `led` is 0/1/NULL (the device did not say).
 * readings_by_minute: per device and minute (m = start of the minute, ms), the count, sum, min, max and
 *   LED (1 if any reading on) of that minute's readings. Kept in step by History.flush(); wide queries
 *   (a month at 1000 points) read 30× fewer rows from it.
 * commands: the LED decisions sent, with their reason and command seq.
 * devices: the registry, and the name → integer key map readings and commands use.
 * settings: JSON values changed at run time, with the configured value they were resolved against.
 * staged_readings, staged_links (3): stored for an ack, not yet moved into readings and devices.
 * settings_changes (4): the threshold and band from each time they changed on (settings-log.ts), so a chart
 *   of the past draws the band as it was then.
 * device_rule_changes (5): per device whose threshold or band is not the fleet's, its own from each time
 *   it changed on; NULLs: it follows the fleet's again (device-rule-log.ts).
 * device_config_devices, device_config_groups, device_config_versions (6): a device's and a group's own
 *   config values (JSON, with the group's members as they were) and the config version each device was
 *   last sent, a row each (device-config-rows.ts); the fleet's config stays in settings.
 */
const MIGRATIONS: string[] = [
    `CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        first_seen INTEGER,
        last_seen INTEGER,
        online INTEGER,
        light REAL,
        light_at INTEGER,
        led_on INTEGER,
        reported_led INTEGER,
        local INTEGER,
        command_led_on INTEGER,
        command_at INTEGER,
        command_reason TEXT
    );
    CREATE TABLE readings (
        device INTEGER NOT NULL,
        t INTEGER NOT NULL,
        light REAL NOT NULL,
        led INTEGER,
        PRIMARY KEY (device, t)
    ) WITHOUT ROWID;
    CREATE TABLE readings_by_minute (
        device INTEGER NOT NULL,
        m INTEGER NOT NULL,
        n INTEGER NOT NULL,
        sum REAL NOT NULL,
        lo REAL NOT NULL,
        hi REAL NOT NULL,
        led INTEGER,
        PRIMARY KEY (device, m)
    ) WITHOUT ROWID;
    CREATE TABLE commands (
        id INTEGER PRIMARY KEY,
        device INTEGER NOT NULL,
        t INTEGER NOT NULL,
        led_on INTEGER NOT NULL,
        reason TEXT NOT NULL,
        seq INTEGER NOT NULL
    );
    CREATE INDEX commands_by_device_time ON commands (device, t);
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        configured TEXT,
        changed_at INTEGER
    );`,
    // 2: where each device's reliable link stood (its boot, the readings stored, its clock), so a
    // restarted server knows the readings it already stored even when the broker lost the retained acks.
    `ALTER TABLE devices ADD COLUMN boot TEXT;
    ALTER TABLE devices ADD COLUMN acked INTEGER;
    ALTER TABLE devices ADD COLUMN clock_offset INTEGER;`,
    // 3: what an ack promises is stored, appended in arrival order (Store.commit): the readings, and
    // each acknowledged device's link with its first and last sight (for a device whose row was never
    // written). An ack's transaction then writes a page or two, not a page per device. Store.flush()
    // moves them into their tables once 500 wait or a second passed; Store.open() does after a crash.
    `CREATE TABLE staged_readings (
        device INTEGER NOT NULL,
        t INTEGER NOT NULL,
        light REAL NOT NULL,
        led INTEGER
    );
    CREATE TABLE staged_links (
        device INTEGER NOT NULL,
        boot TEXT NOT NULL,
        acked INTEGER NOT NULL,
        clock_offset INTEGER,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
    );`,
    // 4: the threshold and band in force from t on (ms), one row per change.
    `CREATE TABLE settings_changes (
        t INTEGER PRIMARY KEY,
        threshold REAL NOT NULL,
        band REAL NOT NULL
    );`,
    // 5: a device's own threshold and band in force from t on (ms); both NULL: the fleet's again. The
    // device by name: few rows (only devices with values of their own), and some not in `devices` yet.
    `CREATE TABLE device_rule_changes (
        device TEXT NOT NULL,
        t INTEGER NOT NULL,
        threshold REAL,
        band REAL,
        PRIMARY KEY (device, t)
    ) WITHOUT ROWID;`,
    // 6: the device config's overrides and versions, a row each, so a change writes its rows alone; they
    // were one JSON value in settings, which DeviceConfigRows.load() moves into them.
    `CREATE TABLE device_config_devices (
        device TEXT PRIMARY KEY,
        override TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE device_config_groups (
        name TEXT PRIMARY KEY,
        override TEXT NOT NULL,
        members TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE device_config_versions (
        device TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;`,
]

export const SCHEMA_VERSION = MIGRATIONS.length

export class StoreError extends Error {
    override name = "StoreError"
    constructor(
        message: string,
        readonly path: string,
        options?: { cause?: unknown }
    ) {
        super(message, options)
    }
}

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export function openDatabase(path: string): Db {
    const memory = path === ":memory:"
    const shown = memory ? path : resolve(path)
    if (!memory) {
        try {
            mkdirSync(dirname(shown), { recursive: true })
        } catch (err) {
            throw new StoreError(`cannot create the directory of database ${shown}: ${reasonOf(err)}`, shown, {
                cause: err,
            })
        }
    }
    let db: Db
    try {
        db = new Database(path)
    } catch (err) {
        throw new StoreError(`cannot open database ${shown}: ${reasonOf(err)}`, shown, { cause: err })
    }
    try {
        // The first statement reads the header: a file that is not SQLite fails here ("file is not a database").
        checkOwnership(db, shown)
        db.pragma(`busy_timeout = ${PRAGMAS.busyTimeoutMs}`)
        db.pragma("journal_mode = WAL")
        db.pragma("synchronous = NORMAL")
        db.pragma(`journal_size_limit = ${PRAGMAS.journalSizeLimit}`)
        migrate(db)
        return db
    } catch (err) {
        db.close()
        if (err instanceof StoreError) throw err
        throw new StoreError(`cannot use database ${shown}: ${reasonOf(err)}`, shown, { cause: err })
    }
}

function checkOwnership(db: Db, shown: string): void {
    const appId = db.pragma("application_id", { simple: true }) as number
    const version = db.pragma("user_version", { simple: true }) as number
    const tables = db.prepare("SELECT count(*) FROM sqlite_schema").pluck().get() as number
    if (appId === 0 && tables === 0) return // new, empty file
    if (appId !== APPLICATION_ID)
        throw new StoreError(
            `${shown} is an SQLite database of another program, not a nightlight database; choose another file`,
            shown
        )
    if (version > SCHEMA_VERSION)
        throw new StoreError(
            `${shown} was written by a newer nightlight server (schema ${version}; this one knows up to ` +
                `${SCHEMA_VERSION}); upgrade the server or choose another file`,
            shown
        )
}

function migrate(db: Db): void {
    const from = db.pragma("user_version", { simple: true }) as number
    for (let version = from; version < SCHEMA_VERSION; version++) {
        db.transaction(() => {
            db.exec(MIGRATIONS[version])
            db.pragma(`application_id = ${APPLICATION_ID}`)
            db.pragma(`user_version = ${version + 1}`)
        }).immediate()
    }
}

export function writeError(db: Db, err: unknown): StoreError {
    if (err instanceof StoreError) return err
    return new StoreError(`cannot write to database ${db.name}: ${reasonOf(err)}`, db.name, { cause: err })
}

/** One INSERT of up to ROWS_PER_INSERT rows, cheaper than one per row; a statement per row count. */
export class BulkInsert {
    static readonly ROWS_PER_INSERT = 32
    private readonly statements = new Map<number, Database.Statement>()

    constructor(
        private readonly db: Db,
        private readonly table: string,
        private readonly columns: number
    ) {}

    /** Inside a transaction, to be one write. */
    run(values: unknown[]): void {
        const rows = values.length / this.columns
        const most = BulkInsert.ROWS_PER_INSERT
        for (let first = 0; first < rows; first += most) {
            const count = Math.min(most, rows - first)
            const slice = count === rows ? values : values.slice(first * this.columns, (first + count) * this.columns)
            this.statement(count).run(slice)
        }
    }

    private statement(rows: number): Database.Statement {
        let statement = this.statements.get(rows)
        if (!statement) {
            const row = `(${Array(this.columns).fill("?").join(", ")})`
            statement = this.db.prepare(`INSERT INTO ${this.table} VALUES ${Array(rows).fill(row).join(", ")}`)
            this.statements.set(rows, statement)
        }
        return statement
    }
}
