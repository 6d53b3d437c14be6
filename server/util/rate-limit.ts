/**
 * A per-key token bucket (key: an MQTT client id, or a device id): each key may send `burst` messages
 * at once and `ratePerSecond` for as long as it likes; beyond that take() says no and the caller drops
 * the message. Pure: the clock is injected, there are no timers, and memory is bounded by `maxKeys`, so
 * a flood of made-up client ids cannot grow it.
 *
 * The defaults must never limit a healthy device. Our firmware (src/nightlight.ts) reports every 2 s,
 * and on a change at most every 200 ms (5/s). After an outage it replays its outbox, up to 600
 * readings, in batches of 20 per `pump()` call. pump() runs on the 250 ms tick and after each stored
 * reading, so a replay reaches 20 × (4 + 5) = 180 readings/s at most (about 90/s with 2 s reports).
 * When acks stop moving it replays everything unacknowledged again after 5 s, 10 s, 20 s, ... 60 s.
 * - burst 1000: a whole replay (600 readings and the "online" status) passes on the bucket alone, at
 *   any speed, with two thirds to spare.
 * - 100/s: 20 times the fastest steady reporting; and the worst repeated replay (600 at 180/s, again
 *   5 s later, then 10 s, 20 s, ... 60 s later, over reports at 5/s) keeps the bucket more than half
 *   full (test/server/util/rate-limit.test.ts).
 * A hostile client gets 1000 messages, then 100/s: 2% of the 5000 readings/s the benchmark serves.
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
     * new keys costs less than keeping the Map in order of use (a delete and a set per take() cost 1.5%
     * of the server's CPU at 5000 readings/s).
     */
    private evictIdlest(): void {
        const count = Math.max(1, Math.floor(this.options.maxKeys / 10))
        const uses = Float64Array.from(this.buckets.values(), bucket => bucket.used).sort()
        const newestEvicted = uses[Math.min(count, uses.length) - 1]
        for (const [key, bucket] of this.buckets) if (bucket.used <= newestEvicted) this.buckets.delete(key)
    }
}
