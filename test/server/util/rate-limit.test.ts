// The per-client token bucket (server/util/rate-limit.ts) on an injected clock: what a flood gets through,
// that a healthy device is never limited, and that memory stays bounded whatever the client ids.
import { describe, expect, test } from "vitest"
import { DEFAULT_RATE_LIMIT, RateLimiter } from "../../../server/util/rate-limit"

/** A clock the test moves by hand (ms). */
function manualClock(start = 0) {
    const clock = { now: start, read: () => clock.now }
    return clock
}

/** How many of `count` messages sent `gapMs` apart get through. */
function sendEvenly(limiter: RateLimiter, clock: { now: number }, key: string, count: number, gapMs: number) {
    let passed = 0
    for (let i = 0; i < count; i++) {
        if (limiter.take(key)) passed++
        clock.now += gapMs
    }
    return passed
}

describe("a token bucket per key", () => {
    test("a burst passes, then the rate; a flood of 10 000/s for 10 s gets burst + 10 s of rate", () => {
        const clock = manualClock()
        const limiter = new RateLimiter({ ratePerSecond: 100, burst: 1000 }, clock.read)
        const passed = sendEvenly(limiter, clock, "flooder", 100_000, 0.1)
        expect(passed).toBeGreaterThanOrEqual(1000 + 100 * 10 - 1)
        expect(passed).toBeLessThanOrEqual(1000 + 100 * 10 + 1)
        expect(limiter.refused).toBe(100_000 - passed)
    })

    test("all at once: exactly the burst; then one more per 1/rate s; never above the burst", () => {
        const clock = manualClock()
        const limiter = new RateLimiter({ ratePerSecond: 10, burst: 5 }, clock.read)
        expect(Array.from({ length: 7 }, () => limiter.take("k"))).toEqual([true, true, true, true, true, false, false])
        clock.now += 99
        expect(limiter.take("k")).toBe(false)
        clock.now += 1
        expect(limiter.take("k")).toBe(true)
        expect(limiter.take("k")).toBe(false)
        clock.now += 3_600_000 // an hour idle refills to the burst, not beyond
        expect(limiter.available("k")).toBe(5)
        expect(sendEvenly(limiter, clock, "k", 10, 0)).toBe(5)
    })

    test("keys do not share a bucket: one flooder does not limit another client", () => {
        const clock = manualClock()
        const limiter = new RateLimiter({ ratePerSecond: 1, burst: 3 }, clock.read)
        sendEvenly(limiter, clock, "flooder", 100, 0)
        expect(limiter.take("device")).toBe(true)
        expect(limiter.available("device")).toBe(2)
        expect(limiter.available("never-seen")).toBe(3)
    })

    test("a clock that goes back adds no tokens", () => {
        const clock = manualClock(10_000)
        const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1 }, clock.read)
        expect(limiter.take("k")).toBe(true)
        clock.now -= 5000
        expect(limiter.take("k")).toBe(false)
        clock.now += 1000 // a second after the clock's new time
        expect(limiter.take("k")).toBe(true)
    })

    test("bad options are refused, naming the option", () => {
        expect(() => new RateLimiter({ ratePerSecond: 0 })).toThrow(/ratePerSecond/)
        expect(() => new RateLimiter({ burst: Number.NaN })).toThrow(/burst/)
        expect(() => new RateLimiter({ maxKeys: 1.5 })).toThrow(/maxKeys/)
    })
})

describe("bounded memory", () => {
    test("200 000 made-up client ids keep at most maxKeys buckets", () => {
        const clock = manualClock()
        const limiter = new RateLimiter({ maxKeys: 1000 }, clock.read)
        for (let i = 0; i < 200_000; i++) limiter.take(`ghost-${i}`)
        expect(limiter.size).toBeLessThanOrEqual(1000)
        expect(limiter.size).toBeGreaterThan(900) // the idlest tenth goes when a new key finds it full
    })

    test("the idlest goes first: a client flooding meanwhile stays limited, it gets no fresh bucket", () => {
        const clock = manualClock()
        const limiter = new RateLimiter({ ratePerSecond: 1, burst: 10, maxKeys: 100 }, clock.read)
        sendEvenly(limiter, clock, "flooder", 20, 0)
        let flooderPassed = 0
        for (let i = 0; i < 10_000; i++) {
            limiter.take(`ghost-${i}`)
            if (i % 50 === 0 && limiter.take("flooder")) flooderPassed++
        }
        expect(flooderPassed).toBe(0)
        expect(limiter.size).toBeLessThanOrEqual(100)
    })
})

describe("the defaults never limit a healthy device (src/nightlight.ts)", () => {
    /** Firmware figures: the outbox, a pump batch, the tick, and the fastest reports (minGapMs 200). */
    const OUTBOX = 600
    const BATCH = 20
    const PUMPS_PER_S = 4 + 5 // the 250 ms tick, and one per stored reading at 5 readings/s
    const REPLAY_RATE = BATCH * PUMPS_PER_S // 180 readings/s

    test("replays of a full outbox at 180/s, again after 5, 10, 20, 40, 60, 60 s, over reports at 5/s", () => {
        expect(REPLAY_RATE).toBe(180)
        const clock = manualClock()
        const limiter = new RateLimiter(DEFAULT_RATE_LIMIT, clock.read)
        // Every message of the device in time order (ms): "online", replays in batches, reports.
        const sends: number[] = [0]
        let replayAt = 0
        for (const gapS of [0, 5, 10, 20, 40, 60, 60]) {
            replayAt += gapS * 1000
            for (let i = 0; i < OUTBOX; i++) sends.push(replayAt + Math.floor(i / BATCH) * (1000 / PUMPS_PER_S))
        }
        for (let t = 0; t <= replayAt + 10_000; t += 200) sends.push(t)
        sends.sort((a, b) => a - b)
        let refused = 0
        let lowest = Infinity
        for (const at of sends) {
            clock.now = at
            if (!limiter.take("device")) refused++
            lowest = Math.min(lowest, limiter.available("device"))
        }
        expect(refused).toBe(0)
        console.log(
            `healthy device, ${sends.length} messages over ${Math.round(replayAt / 1000) + 10} s ` +
                `(7 full replays): 0 refused, bucket never below ${lowest} of ${DEFAULT_RATE_LIMIT.burst}`
        )
        expect(lowest).toBeGreaterThanOrEqual(DEFAULT_RATE_LIMIT.burst / 2)
    })

    test("a whole replay at any speed passes on the bucket alone", () => {
        const clock = manualClock()
        const limiter = new RateLimiter(DEFAULT_RATE_LIMIT, clock.read)
        expect(sendEvenly(limiter, clock, "device", OUTBOX + 1, 0)).toBe(OUTBOX + 1)
    })
})
