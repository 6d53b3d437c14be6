/** The per-key throttle behind ack coalescing, on vitest's fake clock. */
import { afterEach, beforeEach, expect, test, vi } from "vitest"
import { KeyedThrottle } from "../../../server/util/throttle"

beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
})
afterEach(() => {
    vi.useRealTimers()
})

test("the first call runs at once; calls within the interval collapse into the latest, at its end", () => {
    const throttle = new KeyedThrottle(100)
    const ran: string[] = []
    throttle.run("a", () => ran.push("a1"))
    expect(ran).toEqual(["a1"])
    vi.advanceTimersByTime(30)
    throttle.run("a", () => ran.push("a2"))
    throttle.run("a", () => ran.push("a3"))
    expect(throttle.waiting).toBe(1)
    vi.advanceTimersByTime(69)
    expect(ran).toEqual(["a1"])
    vi.advanceTimersByTime(1)
    expect(ran).toEqual(["a1", "a3"])
    // the trailing run started a new interval
    throttle.run("a", () => ran.push("a4"))
    expect(ran).toEqual(["a1", "a3"])
    vi.advanceTimersByTime(100)
    expect(ran).toEqual(["a1", "a3", "a4"])
    // after a quiet interval, at once again
    vi.advanceTimersByTime(150)
    throttle.run("a", () => ran.push("a5"))
    expect(ran).toEqual(["a1", "a3", "a4", "a5"])
})

test("600 calls in a burst of 1.5 s run 16 times, the last one last; keys do not wait for each other", () => {
    const throttle = new KeyedThrottle(100)
    const ran: number[] = []
    const other: number[] = []
    for (let i = 1; i <= 600; i++) {
        throttle.run("replay", () => ran.push(i))
        if (i % 100 === 0) throttle.run("other", () => other.push(i))
        vi.advanceTimersByTime(2.5)
    }
    vi.runAllTimers()
    expect(ran.length).toBe(16)
    expect(ran[0]).toBe(1)
    expect(ran[ran.length - 1]).toBe(600)
    expect(other).toEqual([100, 200, 300, 400, 500, 600])
})

test("flush runs what waits now; cancel drops it", () => {
    const throttle = new KeyedThrottle(100)
    const ran: string[] = []
    throttle.run("a", () => ran.push("a1"))
    throttle.run("a", () => ran.push("a2"))
    throttle.run("b", () => ran.push("b1"))
    throttle.run("b", () => ran.push("b2"))
    throttle.flush()
    expect(ran).toEqual(["a1", "b1", "a2", "b2"])
    expect(throttle.waiting).toBe(0)
    throttle.run("a", () => ran.push("a3"))
    throttle.cancel()
    vi.runAllTimers()
    expect(ran).toEqual(["a1", "b1", "a2", "b2"])
})

test("timers can be injected instead", () => {
    let now = 0
    const timers: (() => void)[] = []
    const throttle = new KeyedThrottle(100, {
        now: () => now,
        setTimeout: fn => timers.push(fn),
        clearTimeout: () => undefined,
    })
    const ran: number[] = []
    throttle.run("k", () => ran.push(1))
    now = 10
    throttle.run("k", () => ran.push(2))
    expect(ran).toEqual([1])
    timers[0]()
    expect(ran).toEqual([1, 2])
})

test("each call is handed its key, so one function serves every key", () => {
    const throttle = new KeyedThrottle(100)
    const ran: string[] = []
    const record = (key: string) => ran.push(key)
    for (const key of ["a", "b", "a", "b", "c"]) throttle.run(key, record)
    expect(ran).toEqual(["a", "b", "c"])
    vi.advanceTimersByTime(100)
    expect(ran).toEqual(["a", "b", "c", "a", "b"])
    expect(throttle.waiting).toBe(0)
})

test("a call may give its own interval: it counts from that key's last run", () => {
    const throttle = new KeyedThrottle(100)
    const ran: string[] = []
    throttle.run("a", () => ran.push("a1"), 400)
    throttle.run("b", () => ran.push("b1"))
    vi.advanceTimersByTime(150)
    throttle.run("a", () => ran.push("a2"), 400)
    throttle.run("b", () => ran.push("b2"))
    expect(ran).toEqual(["a1", "b1", "b2"]) // b's default of 100 ms had passed, a's 400 not
    vi.advanceTimersByTime(249)
    expect(ran).toEqual(["a1", "b1", "b2"])
    vi.advanceTimersByTime(1)
    expect(ran).toEqual(["a1", "b1", "b2", "a2"])
})
