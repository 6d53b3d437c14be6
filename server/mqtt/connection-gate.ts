/**
 * Limits on connections not yet logged in, whose sockets would otherwise fill the file table.
 * Loopback counts only toward the total (127.0.0.2... are capped, so tests can play attackers).
 * Over MQTTS aedes sees the TLS socket, which Node does not link to the TCP one; their addresses find it.
 */

export interface ConnectionLimits {
    maxPerAddress: number
    maxTotal: number
    /** ms from TCP accept to CONNACK. */
    deadlineMs: number
}

/**
 * - 32 per address: a NAT in front of many boards that all reconnect at once (a restarted server takes
 *   about 15 s to admit 500, docs/security.md) has 32 in the queue at a time; the rest retry.
 * - 1000 in total: ten times the password checks that may wait (LOGIN_GUARD_DEFAULTS.maxWaiting), and
 *   a twentieth of this machine's 20,000 file descriptors.
 * - 10 s: a board's TLS handshake takes 1-3 s, a password check waits at most about 3 s (100 waiting,
 *   2 at a time, 55 ms each); aedes' own CONNECT timeout is 30 s.
 * The server's --mqtt-max-pending-per-address, --mqtt-max-pending and --mqtt-login-deadline change them.
 */
export const CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
    maxPerAddress: 32, // connections
    maxTotal: 1000, // connections
    deadlineMs: 10_000, // ms
}

export interface ConnectionGateStats {
    refusedPerAddress: number
    refusedTotal: number
    timedOut: number
}

/** What the gate needs of a socket: its addresses and ports find the TCP socket under a TLS one. */
export interface GatedSocket {
    destroy(): void
    remoteAddress?: string
    remotePort?: number
    localPort?: number
}

export interface GateTimers {
    setTimeout(fn: () => void, ms: number): unknown
    clearTimeout(handle: unknown): void
}

/** The addresses a local process connects from by default (the second: IPv4 on a dual-stack listener). */
const THIS_MACHINE = new Set(["127.0.0.1", "::ffff:127.0.0.1", "::1"])

const realTimers: GateTimers = {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: handle => clearTimeout(handle as NodeJS.Timeout),
}

interface Pending {
    address: string
    timer: unknown
}

export class ConnectionGate {
    readonly limits: Readonly<ConnectionLimits>
    private readonly pending = new Map<GatedSocket, Pending>()
    private readonly byEnds = new Map<string, GatedSocket>()
    private readonly perAddress = new Map<string, number>()
    private readonly counts: ConnectionGateStats = { refusedPerAddress: 0, refusedTotal: 0, timedOut: 0 }

    constructor(
        limits: Partial<ConnectionLimits> = {},
        private readonly timers: GateTimers = realTimers,
        private readonly onRefused: (why: keyof ConnectionGateStats, address: string) => void = () => undefined
    ) {
        this.limits = { ...CONNECTION_LIMITS, ...limits }
    }

    /** False (socket destroyed) at a limit; the caller calls loggedIn() or closed() later. */
    open(socket: GatedSocket, address: string): boolean {
        const fromAddress = this.perAddress.get(address) ?? 0
        const why: keyof ConnectionGateStats | undefined =
            this.pending.size >= this.limits.maxTotal
                ? "refusedTotal"
                : fromAddress >= this.limits.maxPerAddress && !THIS_MACHINE.has(address)
                  ? "refusedPerAddress"
                  : undefined
        if (why) {
            this.counts[why]++
            this.onRefused(why, address)
            socket.destroy()
            return false
        }
        const timer = this.timers.setTimeout(() => {
            if (!this.release(socket)) return
            this.counts.timedOut++
            this.onRefused("timedOut", address)
            socket.destroy()
        }, this.limits.deadlineMs)
        this.pending.set(socket, { address, timer })
        this.perAddress.set(address, fromAddress + 1)
        const ends = endsOf(socket)
        if (ends !== undefined) this.byEnds.set(ends, socket)
        return true
    }

    /** `socket` may be the TLS one. */
    loggedIn(socket: GatedSocket): void {
        const ends = endsOf(socket)
        this.release(this.pending.has(socket) || ends === undefined ? socket : (this.byEnds.get(ends) ?? socket))
    }

    closed(socket: GatedSocket): void {
        this.release(socket)
    }

    get size(): number {
        return this.pending.size
    }

    stats(): ConnectionGateStats {
        return { ...this.counts }
    }

    private release(socket: GatedSocket): boolean {
        const entry = this.pending.get(socket)
        if (!entry) return false
        this.pending.delete(socket)
        const ends = endsOf(socket)
        if (ends !== undefined && this.byEnds.get(ends) === socket) this.byEnds.delete(ends)
        this.timers.clearTimeout(entry.timer)
        const left = (this.perAddress.get(entry.address) ?? 1) - 1
        if (left > 0) this.perAddress.set(entry.address, left)
        else this.perAddress.delete(entry.address)
        return true
    }
}

function endsOf(socket: GatedSocket): string | undefined {
    if (socket.remotePort === undefined) return undefined
    return `${socket.remoteAddress}|${socket.remotePort}|${socket.localPort}`
}

export function refusalText(why: keyof ConnectionGateStats, address: string, limits: ConnectionLimits): string {
    switch (why) {
        case "refusedPerAddress":
            return `closed connections from ${address}: ${limits.maxPerAddress} from there had not logged in yet`
        case "refusedTotal":
            return `closed new connections: ${limits.maxTotal} had not logged in yet`
        case "timedOut":
            return `closed connections that had not logged in within ${limits.deadlineMs / 1000} s`
    }
}
