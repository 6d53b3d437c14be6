/** The stored MQTT sessions, their owners and limits (docs/security.md "Sessions"). Pure; SessionGuard acts. */

export const SESSION_DEFAULTS = {
    /** In all; 30 KB per full queue, so about 30 MB worst case. Past it, CONNACK 3, nobody else's dropped. */
    maxSessions: 1000,
    /** Per user (anonymous counts as one); past it the user's longest-offline session goes. */
    maxSessionsPerUser: 10,
    /** ms offline before a session is forgotten: commands are retained, readings resent by the device. */
    expiryMs: 60 * 60_000,
    /** QoS 1 messages queued per session; the oldest is dropped past it (Mosquitto keeps 1000, ~10x ours). */
    maxQueued: 100,
    /** The firmware always asks for a clean session: a device login that asks for a stored one is refused. */
    deviceSessions: false,
}
export type SessionLimits = typeof SESSION_DEFAULTS

interface Entry {
    owner: string
    /** undefined while offline. */
    client?: object
    /** ms */
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

    ownerOf(clientId: string): string | undefined {
        return this.entries.get(clientId)?.owner
    }

    get offline(): number {
        let n = 0
        for (const entry of this.entries.values()) if (!entry.client) n++
        return n
    }

    /** Past the per-user limit evicts the owner's longest-offline session (never anyone else's). */
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

    takeExpired(): string[] {
        const due = this.now() - this.limits.expiryMs
        const expired: string[] = []
        for (const [id, entry] of this.entries) if (!entry.client && entry.offlineSince <= due) expired.push(id)
        for (const id of expired) this.remove(id)
        return expired
    }
}
