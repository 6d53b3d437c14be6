/**
 * Who may use which client id and keep which session (docs/security.md "Sessions"). A device's own,
 * predictable id is reserved for its user. An empty id needs a clean session (MQTT 3.1.1 §3.1.3-8).
 */
import type { Client } from "aedes"
import { printable } from "../util/logger"
import { clientIds } from "../protocol/contract"
import type { Principal } from "./acl"
import { authError, type ClientInternals } from "./broker-auth-types"
import { SESSION_DEFAULTS, SessionBook, type SessionLimits } from "./session-book"
import { SessionStore } from "./session-store"
import type { UserDirectory } from "./user-store"

export interface SessionCounts {
    takeoversRefused: number
    sessionsRefused: number
    sessionsEvicted: number
    sessionsExpired: number
    queuedDropped: number
}

export interface SessionGuardOptions {
    limits?: Partial<SessionLimits>
    users?: UserDirectory
    now: () => number
    principalOf(client: Client): Principal | undefined
    /** Rate-limited by the caller. */
    note(key: string, line: string): void
}

/** The key a session's owner is known by: the user name, or one key for every anonymous client. */
function ownerKey(principal: Principal): string {
    return principal.kind === "user" ? `user:${principal.username}` : "anonymous"
}

function nameOf(principal: Principal): string {
    return principal.kind === "user" ? principal.username : "(anonymous)"
}

const DEVICE_SUFFIX = clientIds.device("")

export class SessionGuard {
    readonly store: SessionStore
    readonly limits: SessionLimits
    private readonly book: SessionBook
    private readonly emptyIds = new WeakSet<Client>()
    private readonly options: SessionGuardOptions
    private sweeper?: NodeJS.Timeout
    readonly counts: SessionCounts = {
        takeoversRefused: 0,
        sessionsRefused: 0,
        sessionsEvicted: 0,
        sessionsExpired: 0,
        queuedDropped: 0,
    }

    constructor(options: SessionGuardOptions) {
        this.options = options
        this.limits = { ...SESSION_DEFAULTS, ...options.limits }
        this.book = new SessionBook(this.limits, options.now)
        this.store = new SessionStore(this.limits.maxQueued, clientId => {
            this.counts.queuedDropped++
            options.note(
                "dropped queued messages",
                `dropped the oldest message queued for ${printable(clientId, 64)}: its queue holds ${this.limits.maxQueued}`
            )
        })
    }

    /** aedes' preConnect: the CONNECT's own client id, before aedes makes one up for an empty one. */
    preConnect(client: Client, packet: { clientId: string }): void {
        if (packet.clientId === "") this.emptyIds.add(client)
    }

    /** Throws the CONNACK code. */
    async admit(client: Client, principal: Principal, refused: (why: string) => void): Promise<void> {
        const id = client.id
        const key = ownerKey(principal)
        const who = nameOf(principal)
        if (this.emptyIds.has(client) && !client.clean) {
            this.counts.sessionsRefused++
            refused("an empty client id needs a clean session")
            throw authError(2, "identifier rejected")
        }
        const reservedFor = this.reservedFor(id)
        const holder = (client as unknown as ClientInternals).broker.clients[id]
        const held = holder && holder !== client ? this.options.principalOf(holder) : undefined
        const stored = this.book.ownerOf(id)
        const owners = reservedFor !== undefined ? [`user:${reservedFor}`] : [held && ownerKey(held), stored]
        if (owners.some(owner => owner !== undefined && owner !== key)) {
            this.counts.takeoversRefused++
            refused(`client id ${printable(id, 64)} belongs to another user`)
            throw authError(5, "not authorized")
        }
        // a device's own id: whatever someone else stored under it goes, before aedes restores it
        const replaced = stored !== undefined && stored !== key
        if (client.clean) {
            if (stored !== undefined) this.book.remove(id) // aedes ends the stored session itself
            if (replaced) await this.store.forget(id)
            return
        }
        if (principal.kind === "user" && principal.role === "device" && !this.limits.deviceSessions) {
            this.counts.sessionsRefused++
            refused("a device must use a clean session (see --mqtt-device-sessions)")
            throw authError(5, "not authorized")
        }
        if (replaced) this.book.remove(id)
        const admission = this.book.admit(id, key)
        if (!admission.ok) {
            if (replaced) await this.store.forget(id) // out of the book: it must not stay stored untracked
            this.counts.sessionsRefused++
            refused(`no stored session for ${printable(id, 64)}: ${admission.why}`)
            throw authError(3, "server unavailable")
        }
        // booked at once, so a login racing this one sees the session taken
        for (const evicted of admission.evict) this.book.remove(evicted)
        this.book.connected(id, key, client)
        client.conn.once("close", () => {
            this.book.disconnected(id, client)
            this.sweepLater()
        })
        if (replaced) await this.store.forget(id)
        for (const evicted of admission.evict) {
            this.counts.sessionsEvicted++
            this.options.note(
                `evicted sessions of ${who}`,
                `${who} has ${this.limits.maxSessionsPerUser} stored sessions: forgot the one offline longest (${printable(evicted, 64)})`
            )
            await this.store.forget(evicted)
        }
    }

    /** Forgets the sessions offline for expiryMs; the timer calls it, tests with a fake clock too. */
    async expire(): Promise<number> {
        const expired = this.book.takeExpired()
        for (const id of expired) {
            this.counts.sessionsExpired++
            await this.store.forget(id)
        }
        if (expired.length > 0)
            this.options.note("expired sessions", `forgot ${expired.length} stored session(s) offline for too long`)
        if (this.book.offline === 0 && this.sweeper) {
            clearInterval(this.sweeper)
            this.sweeper = undefined
        }
        return expired.length
    }

    get stored(): number {
        return this.book.size
    }

    /** The user a client id is reserved for: `<name>nightlight_client` belongs to user `<name>`, if any. */
    private reservedFor(clientId: string): string | undefined {
        if (!clientId.endsWith(DEVICE_SUFFIX)) return undefined
        const name = clientId.slice(0, -DEVICE_SUFFIX.length)
        return name !== "" && this.options.users?.get(name) ? name : undefined
    }

    /** A timer only while some session is offline: at most every minute, and at least as often as expiryMs. */
    private sweepLater(): void {
        if (this.sweeper) return
        this.sweeper = setInterval(() => void this.expire(), Math.max(1000, Math.min(this.limits.expiryMs, 60_000)))
        this.sweeper.unref()
    }
}
