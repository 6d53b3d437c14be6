/**
 * The credentials file (docs/security.md). A hash still allows offline guessing, so it is written 0600,
 * whole to a temporary file then renamed, so a reader never sees half of one.
 */
import { readFile, stat } from "node:fs/promises"
import { isValidDeviceId } from "../protocol/contract"
import { writeSecretFile } from "../util/secret-file"
import { parseHash } from "./password-hash"

/** What each role may do is in acl.ts; docs/security.md has the table. */
export const ROLES = ["device", "server", "home-assistant", "observer", "admin"] as const
export type Role = (typeof ROLES)[number]

export const CREDENTIALS_VERSION = 1
/** Beside the SQLite store unless --mqtt-users / NIGHTLIGHT_USERS say otherwise. */
export const CREDENTIALS_FILE_NAME = "users.json"

export interface UserEntry {
    role: Role
    hash: string
}

export type Users = Map<string, UserEntry>

export class CredentialsError extends Error {
    override name = "CredentialsError"
}

export const USERNAME_RULE = '1-64 letters, digits or "_", ".", ":", "-", not only dots'

/** Every username follows the device id rule: it is a topic level in the rules and Mosquitto's `%u`. */
export function isValidUsername(name: string): boolean {
    return isValidDeviceId(name)
}

export function isRole(value: unknown): value is Role {
    return typeof value === "string" && (ROLES as readonly string[]).includes(value)
}

export function parseCredentials(text: string, file: string): Users {
    let json: unknown
    try {
        json = JSON.parse(text)
    } catch (error) {
        throw new CredentialsError(`${file}: not valid JSON (${(error as Error).message})`)
    }
    if (typeof json !== "object" || json === null || Array.isArray(json))
        throw new CredentialsError(`${file}: expected a JSON object with "version" and "users"`)
    const { version, users } = json as { version?: unknown; users?: unknown }
    if (version !== CREDENTIALS_VERSION)
        throw new CredentialsError(
            `${file}: "version" is ${JSON.stringify(version) ?? "missing"}; this server reads version ${CREDENTIALS_VERSION}`
        )
    if (typeof users !== "object" || users === null || Array.isArray(users))
        throw new CredentialsError(`${file}: "users" must be an object of username → { "role", "hash" }`)
    const result: Users = new Map()
    for (const [name, entry] of Object.entries(users)) {
        const where = `${file}: user ${JSON.stringify(name)}`
        if (!isValidUsername(name)) throw new CredentialsError(`${where}: a username is ${USERNAME_RULE}`)
        if (typeof entry !== "object" || entry === null)
            throw new CredentialsError(`${where}: expected { "role": ..., "hash": ... }`)
        const { role, hash } = entry as { role?: unknown; hash?: unknown }
        if (!isRole(role))
            throw new CredentialsError(
                `${where}: "role" is ${JSON.stringify(role) ?? "missing"}; expected one of ${ROLES.join(", ")}`
            )
        if (typeof hash !== "string") throw new CredentialsError(`${where}: "hash" is missing`)
        const parsed = parseHash(hash)
        if (!parsed.ok) throw new CredentialsError(`${where}: unreadable "hash": ${parsed.reason}`)
        result.set(name, { role, hash })
    }
    return result
}

/** Sorted by name so changes read well in a diff. */
export function formatCredentials(users: Users): string {
    const sorted = [...users.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const out = { version: CREDENTIALS_VERSION, users: Object.fromEntries(sorted) }
    return `${JSON.stringify(out, null, 4)}\n`
}

export interface LoadedCredentials {
    users: Users
    warnings: string[]
}

export async function loadCredentials(file: string): Promise<LoadedCredentials | undefined> {
    let text: string
    try {
        text = await readFile(file, "utf8")
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === "ENOENT") return undefined
        throw new CredentialsError(`cannot read the credentials file ${file}: ${describeFsError(error)}`)
    }
    const users = parseCredentials(text, file)
    const warnings: string[] = []
    const mode = await permissionsOf(file)
    if (mode !== undefined && (mode & 0o077) !== 0)
        warnings.push(
            `${file} can be read by other users of this machine (mode ${mode.toString(8)}): ` +
                `its hashes let them guess passwords offline. Run: chmod 600 ${file}`
        )
    return { users, warnings }
}

async function permissionsOf(file: string): Promise<number | undefined> {
    if (process.platform === "win32") return undefined
    try {
        return (await stat(file)).mode & 0o777
    } catch {
        return undefined
    }
}

export async function saveCredentials(file: string, users: Users): Promise<void> {
    try {
        await writeSecretFile(file, formatCredentials(users))
    } catch (error) {
        throw new CredentialsError(`cannot write the credentials file ${file}: ${describeFsError(error)}`)
    }
}

export function describeFsError(error: unknown): string {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "ENOENT") return "no such file or directory"
    if (code === "EACCES" || code === "EPERM") return "permission denied"
    if (code === "EISDIR") return "it is a directory"
    return (error as Error).message
}
