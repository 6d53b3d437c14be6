/**
 * A per-key token bucket, at most `maxKeys` keys. The defaults never limit a healthy device: burst 1000
 * passes a 600-reading outbox replay, and 100/s stays over half full under replays at 180/s.
 */

export interface RateLimitOptions {
    ratePerSecond: number
    burst: number
    /** Keys remembered at most; the idlest are forgotten first, a tenth at a time. */
    maxKeys: number
}

export const DEFAULT_RATE_LIMIT: Readonly<RateLimitOptions> = {
    ratePerSecond: 100, // messages/s
    burst: 1000, // messages
    maxKeys: 10_000, // keys (about 100 bytes each)
}

interface Bucket {
    tokens: number
    /** clock ms */
    at: number
    /** The number of the take() that last used it: the idlest bucket has the lowest. */
    used: number
}

/** A monotonic clock in ms: the wall clock may jump, which would empty or fill every bucket. */
const monotonicNow = () => performance.now()

export class RateLimiter {
    readonly options: Readonly<RateLimitOptions>
    private readonly now: () => number
    /** Changed in place: a take() makes no new object and does not re-order the Map. */
    private readonly buckets = new Map<string, Bucket>()
    private takes = 0
    private refusedCount = 0

    constructor(options: Partial<RateLimitOptions> = {}, now: () => number = monotonicNow) {
        const o = { ...DEFAULT_RATE_LIMIT, ...options }
        for (const name of ["ratePerSecond", "burst", "maxKeys"] as const)
            if (!(Number.isFinite(o[name]) && o[name] > 0))
                throw new RangeError(`RateLimiter: ${name} must be a positive number, got ${o[name]}`)
        if (!Number.isInteger(o.maxKeys))
            throw new RangeError(`RateLimiter: maxKeys must be a whole number, got ${o.maxKeys}`)
        this.options = o
        this.now = now
    }

    take(key: string): boolean {
        const now = this.now()
        let bucket = this.buckets.get(key)
        if (bucket) {
            // A clock that went back adds nothing (and takes nothing away).
            const elapsed = Math.max(0, now - bucket.at)
            bucket.tokens = Math.min(this.options.burst, bucket.tokens + (elapsed * this.options.ratePerSecond) / 1000)
            bucket.at = now
        } else {
            if (this.buckets.size >= this.options.maxKeys) this.evictIdlest()
            bucket = { tokens: this.options.burst, at: now, used: 0 }
            this.buckets.set(key, bucket)
        }
        bucket.used = ++this.takes
        if (bucket.tokens < 1) {
            this.refusedCount++
            return false
        }
        bucket.tokens -= 1
        return true
    }

    /** Not needed for memory; a reconnecting client should keep what it had left, so callers rarely do. */
    forget(key: string): void {
        this.buckets.delete(key)
    }

    available(key: string): number {
        const bucket = this.buckets.get(key)
        if (!bucket) return this.options.burst
        const elapsed = Math.max(0, this.now() - bucket.at)
        return Math.floor(Math.min(this.options.burst, bucket.tokens + (elapsed * this.options.ratePerSecond) / 1000))
    }

    get size(): number {
        return this.buckets.size
    }

    get refused(): number {
        return this.refusedCount
    }

    /**
     * The idlest tenth go, most likely full anyway; a flooder is never among them. A pass per tenth costs
     * less than keeping the Map in order of use (a delete and a set per take()).
     */
    private evictIdlest(): void {
        const count = Math.max(1, Math.floor(this.options.maxKeys / 10))
        const uses = Float64Array.from(this.buckets.values(), bucket => bucket.used).sort()
        const newestEvicted = uses[Math.min(count, uses.length) - 1]
        for (const [key, bucket] of this.buckets) if (bucket.used <= newestEvicted) this.buckets.delete(key)
    }
}
