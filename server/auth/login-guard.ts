/**
 * What keeps password guessing slow and cheap for us:
 * - an address with `maxFailures` failed logins within `windowMs` is refused at once, without a password
 *   check, until the window has passed (it costs us nothing, and them a reconnect each time). Per
 *   address, not per user: locking a user out would let anyone lock out a device by guessing wrong
 *   passwords for it;
 * - at most `maxConcurrent` password checks at a time (each takes ~60 ms and 32 MiB on libuv's pool,
 *   which file I/O and DNS share), at most `maxWaiting` waiting; beyond that a login is answered
 *   "server unavailable" and the client retries later;
 * - log lines that repeat (the same user failing from the same address) are written once per `logEveryMs`
 *   with a count of the ones left out.
 * Memory is bounded: at most `maxTracked` addresses or log keys are remembered.
 */

export const LOGIN_GUARD_DEFAULTS = {
    /** Window in which failures are counted (ms). */
    windowMs: 60_000,
    /** Failed logins from one address within the window before it is refused without a check. */
    maxFailures: 10,
    /** One log line per repeated event per this long (ms). */
    logEveryMs: 60_000,
    /** Password checks running at once. */
    maxConcurrent: 2,
    /** Password checks waiting for a slot before logins are turned away. */
    maxWaiting: 100,
    /** Addresses and log keys remembered at most. */
    maxTracked: 10_000,
}
export type LoginGuardLimits = typeof LOGIN_GUARD_DEFAULTS

interface Window {
    since: number
    count: number
}

export class LoginGuard {
    private readonly limits: LoginGuardLimits
    private readonly now: () => number
    private readonly failures = new Map<string, Window>()
    private running = 0
    private readonly waiting: (() => void)[] = []

    constructor(limits: Partial<LoginGuardLimits> = {}, clock: () => number = Date.now) {
        this.limits = { ...LOGIN_GUARD_DEFAULTS, ...limits }
        this.now = clock
    }

    /** True when `address` failed too often lately: refuse without checking. */
    isLockedOut(address: string): boolean {
        const w = this.failures.get(address)
        if (!w) return false
        if (this.now() - w.since >= this.limits.windowMs) {
            this.failures.delete(address)
            return false
        }
        return w.count >= this.limits.maxFailures
    }

    failed(address: string): void {
        const now = this.now()
        const w = this.failures.get(address)
        if (w && now - w.since < this.limits.windowMs) w.count++
        else {
            if (this.failures.size >= this.limits.maxTracked) prune(this.failures, now, this.limits)
            this.failures.set(address, { since: now, count: 1 })
        }
    }

    /** Runs `check` when a slot is free; undefined (not run) when too many are waiting already. */
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

function prune(map: Map<string, Window>, now: number, limits: LoginGuardLimits): void {
    for (const [key, w] of map) if (now - w.since >= limits.windowMs) map.delete(key)
    // still full of fresh entries (a flood from many addresses): forget the oldest rather than grow
    for (const key of map.keys()) {
        if (map.size < limits.maxTracked) break
        map.delete(key)
    }
}
