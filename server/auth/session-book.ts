/**
 * The stored (persistent, clean session off) MQTT sessions: whose each one is, whether its client is
 * connected, since when it is not, and the limits on them (docs/security.md "Sessions"). Pure: the clock
 * is injected and nothing here touches aedes; SessionGuard (session-guard.ts) acts on its answers.
 */

export const SESSION_DEFAULTS = {
    /**
     * Stored sessions in all. A full queue is about 30 KB (100 small commands), so the worst case is
     * about 30 MB; past it a new one is refused (CONNACK 3) rather than someone else's dropped.
     */
    maxSessions: 1000,
    /**
     * Stored sessions per user (all anonymous clients count as one). A new one past it replaces that
     * user's longest-offline session, so one login can hold at most this many queues.
     */
    maxSessionsPerUser: 10,
    /**
     * ms a session whose client stays away is kept. Commands are retained and a device's readings are
     * resent by the device itself, so a queue older than this holds nothing a client still needs.
     */
    expiryMs: 60 * 60_000,
    /** QoS 1 messages queued per session; the oldest is dropped past it (Mosquitto keeps 1000, ~10x ours). */
    maxQueued: 100,
    /** The firmware always asks for a clean session: a device login that asks for a stored one is refused. */
    deviceSessions: false,
}
export type SessionLimits = typeof SESSION_DEFAULTS

interface Entry {
    owner: string
    /** The connected client holding it; undefined while offline. */
    client?: object
    /** When its client left (ms); meaningful while offline. */
    offlineSince: number
}

export type SessionAdmission =
    | { ok: true; evict: string[] }
    | {
          ok: false
          why: "the server holds its maximum of stored sessions" | "all of this user's stored sessions are in use"
      }

export class SessionBook {
    private readonly entries = new Map<string, Entry>()
    private readonly byOwner = new Map<string, Set<string>>()

    constructor(
        private readonly limits: Pick<SessionLimits, "maxSessions" | "maxSessionsPerUser" | "expiryMs">,
        private readonly now: () => number
    ) {}

    get size(): number {
        return this.entries.size
    }

    /** Who a stored session belongs to (the key SessionGuard gives its owner); undefined: none stored. */
    ownerOf(clientId: string): string | undefined {
        return this.entries.get(clientId)?.owner
    }

    get offline(): number {
        let n = 0
        for (const entry of this.entries.values()) if (!entry.client) n++
        return n
    }

    /**
     * May `owner` store a session under `clientId`? Its own stored session is resumed. A new one past the
     * per-user limit evicts that owner's longest-offline session (never anyone else's); past the total
     * limit, or with all the owner's sessions connected, it is refused.
     */
    admit(clientId: string, owner: string): SessionAdmission {
        if (this.entries.get(clientId)?.owner === owner) return { ok: true, evict: [] }
        const own = [...(this.byOwner.get(owner) ?? [])]
        const evict: string[] = []
        if (own.length >= this.limits.maxSessionsPerUser) {
            const offline = own
                .map(id => [id, this.entries.get(id)!] as const)
                .filter(([, entry]) => !entry.client)
                .sort(([, a], [, b]) => a.offlineSince - b.offlineSince)
            const excess = own.length - this.limits.maxSessionsPerUser + 1
            if (offline.length < excess) return { ok: false, why: "all of this user's stored sessions are in use" }
            evict.push(...offline.slice(0, excess).map(([id]) => id))
        }
        if (this.entries.size - evict.length >= this.limits.maxSessions)
            return { ok: false, why: "the server holds its maximum of stored sessions" }
        return { ok: true, evict }
    }

    /** `client` holds the session now (a new one, or one resumed). */
    connected(clientId: string, owner: string, client: object): void {
        const entry = this.entries.get(clientId)
        if (entry && entry.owner !== owner) this.remove(clientId)
        if (entry && entry.owner === owner) {
            entry.client = client
            return
        }
        this.entries.set(clientId, { owner, client, offlineSince: 0 })
        const own = this.byOwner.get(owner) ?? new Set()
        own.add(clientId)
        this.byOwner.set(owner, own)
    }

    /** `client` left; the session stays, unless someone has taken it over since. */
    disconnected(clientId: string, client: object): void {
        const entry = this.entries.get(clientId)
        if (!entry || entry.client !== client) return
        entry.client = undefined
        entry.offlineSince = this.now()
    }

    remove(clientId: string): void {
        const entry = this.entries.get(clientId)
        if (!entry) return
        this.entries.delete(clientId)
        const own = this.byOwner.get(entry.owner)
        own?.delete(clientId)
        if (own?.size === 0) this.byOwner.delete(entry.owner)
    }

    /** Sessions offline for expiryMs or longer, to forget (they are removed from the book). */
    takeExpired(): string[] {
        const due = this.now() - this.limits.expiryMs
        const expired: string[] = []
        for (const [id, entry] of this.entries) if (!entry.client && entry.offlineSince <= due) expired.push(id)
        for (const id of expired) this.remove(id)
        return expired
    }
}
