/**
 * A per-key token bucket (an MQTT client id, or a device id): `burst` at once, then `ratePerSecond`;
 * beyond, take() says no and the caller drops the message. Pure: clock injected, no timers, at most
 * `maxKeys` keys, so made-up ids cannot grow it. The defaults must never limit a healthy device: burst
 * 1000 passes a whole 600-reading outbox replay (src/nightlight.ts), and 100/s keeps the bucket over half
 * full under repeated replays at up to 180/s (test/server/util/rate-limit.test.ts).
 */

export interface RateLimitOptions {
    /** Messages per second a key may keep sending (tokens added per second). */
    ratePerSecond: number
    /** Messages a key may send at once after a quiet spell (the bucket's size). */
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
    /** When `tokens` was last brought up to date (clock ms). */
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

    /** Throws a RangeError naming the option when one is not a positive number (a programming error). */
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

    /** True: `key` may send one message now (a token is spent). False: drop it. */
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

    /**
     * Forgets a key (e.g. its client disconnected). Not needed for memory, which maxKeys bounds, but a
     * client that reconnects still starts with what it had left, so callers usually leave keys alone.
     */
    forget(key: string): void {
        this.buckets.delete(key)
    }

    /** Whole tokens `key` has now: the messages it could send at once. */
    available(key: string): number {
        const bucket = this.buckets.get(key)
        if (!bucket) return this.options.burst
        const elapsed = Math.max(0, this.now() - bucket.at)
        return Math.floor(Math.min(this.options.burst, bucket.tokens + (elapsed * this.options.ratePerSecond) / 1000))
    }

    /** Keys remembered now (at most maxKeys). */
    get size(): number {
        return this.buckets.size
    }

    /** Messages refused since the start, all keys together. */
    get refused(): number {
        return this.refusedCount
    }

    /**
     * The idlest tenth of the keys go (at least one), found in one pass. They have been refilling the
     * longest, so they are the ones most likely full anyway: forgetting them changes nothing for them.
     * A flooder is never among them while it floods, so it cannot get a fresh bucket this way without
     * first sending from maxKeys / 10 × 9 other client ids. A tenth at a time: a pass per maxKeys / 10
     * new keys costs less than keeping the Map in order of use (a delete and a set per take()).
     */
    private evictIdlest(): void {
        const count = Math.max(1, Math.floor(this.options.maxKeys / 10))
        const uses = Float64Array.from(this.buckets.values(), bucket => bucket.used).sort()
        const newestEvicted = uses[Math.min(count, uses.length) - 1]
        for (const [key, bucket] of this.buckets) if (bucket.used <= newestEvicted) this.buckets.delete(key)
    }
}
