/**
 * Keeps password guessing slow for them and cheap for us (docs/security.md "Logins that fail"). A user
 * name that fails often is slowed, not locked: a lock-out would let anyone lock a device out.
 */

export const LOGIN_GUARD_DEFAULTS = {
    /** Window in which failures are counted (ms). */
    windowMs: 60_000,
    /** Failures from one address within the window before it is refused without a check. */
    maxFailures: 10,
    /** One log line per repeated event per this long (ms). */
    logEveryMs: 60_000,
    /** Password checks at once (each costly on libuv's pool). */
    maxConcurrent: 2,
    /** Password checks waiting for a slot before logins are turned away. */
    maxWaiting: 100,
    /** Addresses and log keys remembered at most (and user names, and user-address pairs). */
    maxTracked: 10_000,
    /** Failures for one user name within the window, from any address, before it is slowed. */
    maxUserFailures: 10,
    /** While a user name is slowed down: one password check for it per this long (ms), from new addresses. */
    userCheckIntervalMs: 3000,
    /** An address a user logged in from is not slowed down for that user for this long (ms). */
    trustedForMs: 24 * 60 * 60_000,
}
export type LoginGuardLimits = typeof LOGIN_GUARD_DEFAULTS

interface Window {
    since: number
    count: number
    /** When the last password check of a slowed-down user name was let through (user windows only). */
    lastCheck?: number
}

export class LoginGuard {
    private readonly limits: LoginGuardLimits
    private readonly now: () => number
    private readonly failures = new Map<string, Window>()
    private readonly userFailures = new Map<string, Window>()
    /** `user address` → until when that address is trusted for that user (ms). */
    private readonly trusted = new Map<string, number>()
    private running = 0
    private readonly waiting: (() => void)[] = []

    constructor(limits: Partial<LoginGuardLimits> = {}, clock: () => number = Date.now) {
        this.limits = { ...LOGIN_GUARD_DEFAULTS, ...limits }
        this.now = clock
    }

    isLockedOut(address: string): boolean {
        const w = this.failures.get(address)
        if (!w) return false
        if (this.now() - w.since >= this.limits.windowMs) {
            this.failures.delete(address)
            return false
        }
        return w.count >= this.limits.maxFailures
    }

    failed(address: string, username?: string): void {
        count(this.failures, address, this.now(), this.limits)
        if (username !== undefined) count(this.userFailures, username, this.now(), this.limits)
    }

    succeeded(address: string, username: string): void {
        const key = `${username} ${address}`
        this.trusted.delete(key) // re-inserted last: the Map stays in order of use, oldest first
        if (this.trusted.size >= this.limits.maxTracked) {
            const now = this.now()
            for (const [k, until] of this.trusted) if (until <= now) this.trusted.delete(k)
            for (const k of this.trusted.keys()) {
                if (this.trusted.size < this.limits.maxTracked) break
                this.trusted.delete(k)
            }
        }
        this.trusted.set(key, this.now() + this.limits.trustedForMs)
    }

    /** False lets the check run (and, while slowed down, takes the interval's one check). */
    isSlowedDown(username: string, address: string): boolean {
        const w = this.userFailures.get(username)
        const now = this.now()
        if (!w || now - w.since >= this.limits.windowMs || w.count < this.limits.maxUserFailures) return false
        if ((this.trusted.get(`${username} ${address}`) ?? 0) > now) return false
        if (w.lastCheck !== undefined && now - w.lastCheck < this.limits.userCheckIntervalMs) return true
        w.lastCheck = now
        return false
    }

    /** undefined (not run) when too many are waiting already. */
    async throttled<T>(check: () => Promise<T>): Promise<T | undefined> {
        if (this.running >= this.limits.maxConcurrent) {
            if (this.waiting.length >= this.limits.maxWaiting) return undefined
            await new Promise<void>(resolve => this.waiting.push(resolve))
        }
        this.running++
        try {
            return await check()
        } finally {
            this.running--
            this.waiting.shift()?.()
        }
    }
}

function count(map: Map<string, Window>, key: string, now: number, limits: LoginGuardLimits): void {
    const w = map.get(key)
    if (w && now - w.since < limits.windowMs) w.count++
    else {
        if (map.size >= limits.maxTracked) prune(map, now, limits)
        map.set(key, { since: now, count: 1 })
    }
}

function prune(map: Map<string, Window>, now: number, limits: LoginGuardLimits): void {
    for (const [key, w] of map) if (now - w.since >= limits.windowMs) map.delete(key)
    // still full of fresh entries (a flood from many addresses): forget the oldest rather than grow
    for (const key of map.keys()) {
        if (map.size < limits.maxTracked) break
        map.delete(key)
    }
}
