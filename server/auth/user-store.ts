/**
 * The credentials file, polled with stat, not fs.watch (which misses a rename on some systems and fires
 * twice on others), plus users for this run. An unreadable file keeps the users we had.
 */
import { stat } from "node:fs/promises"
import type { Logger } from "../util/logger"
import { CredentialsError, loadCredentials, type Role, type UserEntry, type Users } from "./credentials"
import { generatePassword, hashPassword } from "./password-hash"

export const USER_STORE_DEFAULTS = {
    /** ms */
    pollMs: 2000,
}

/** What the broker's authentication reads. */
export interface UserDirectory {
    get(username: string): UserEntry | undefined
    /** `listener` gets the users whose entry changed or went away, so their sessions can be closed. */
    onChange(listener: (usernames: string[]) => void): void
}

export interface UserStoreOptions {
    file: string
    logger: Logger
    pollMs?: number
}

export class UserStore implements UserDirectory {
    private readonly file: string
    private readonly log: Logger
    private readonly pollMs: number
    private users: Users = new Map()
    private readonly ephemeral: Users = new Map()
    private readonly listeners: ((usernames: string[]) => void)[] = []
    private timer?: NodeJS.Timeout
    private lastSeen = ""
    private lastError = ""
    private polling = false

    constructor(options: UserStoreOptions) {
        this.file = options.file
        this.log = options.logger.child({ component: "users" })
        this.pollMs = options.pollMs ?? USER_STORE_DEFAULTS.pollMs
    }

    async start(): Promise<{ users: number; exists: boolean; warnings: string[] }> {
        this.lastSeen = await this.fingerprint()
        const loaded = await loadCredentials(this.file)
        this.users = loaded?.users ?? new Map()
        this.timer = setInterval(() => void this.poll(), this.pollMs)
        this.timer.unref()
        return { users: this.users.size, exists: loaded !== undefined, warnings: loaded?.warnings ?? [] }
    }

    stop(): void {
        clearInterval(this.timer)
        this.timer = undefined
    }

    get(username: string): UserEntry | undefined {
        return this.ephemeral.get(username) ?? this.users.get(username)
    }

    /** Not counting those added for this run. */
    get size(): number {
        return this.users.size
    }

    onChange(listener: (usernames: string[]) => void): void {
        this.listeners.push(listener)
    }

    /** Returns its new random password; wins over a user of the same name in the file. */
    async addEphemeral(username: string, role: Role): Promise<string> {
        const password = generatePassword()
        this.ephemeral.set(username, { role, hash: await hashPassword(password) })
        if (this.users.has(username))
            this.log.warn(`user ${username} of ${this.file} is replaced for this run by the server's own ${role}`)
        return password
    }

    async poll(): Promise<void> {
        if (this.polling) return
        this.polling = true
        try {
            const seen = await this.fingerprint()
            if (seen === this.lastSeen) return
            let next: Users
            try {
                next = (await loadCredentials(this.file))?.users ?? new Map()
            } catch (error) {
                const message = error instanceof CredentialsError ? error.message : String(error)
                if (message !== this.lastError) this.log.error(`${message}; keeping the users read before`)
                this.lastError = message
                return
            }
            this.lastSeen = seen
            this.lastError = ""
            const changed = [...this.users].filter(([name, old]) => {
                const now = next.get(name)
                return !now || now.hash !== old.hash || now.role !== old.role
            })
            const added = [...next.keys()].filter(name => !this.users.has(name))
            this.users = next
            this.log.info(
                seen === "missing"
                    ? `${this.file} was removed: no user can log in until it is back`
                    : `${this.file} changed: ${next.size} users (${added.length} new, ${changed.length} changed or removed)`
            )
            const names = changed.map(([name]) => name).filter(name => !this.ephemeral.has(name))
            if (names.length > 0) for (const listener of this.listeners) listener(names)
        } finally {
            this.polling = false
        }
    }

    /** Changes whenever the file is replaced or rewritten. */
    private async fingerprint(): Promise<string> {
        try {
            const s = await stat(this.file)
            return `${s.ino}:${s.size}:${s.mtimeMs}`
        } catch (error) {
            return (error as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `error:${String(error)}`
        }
    }
}
