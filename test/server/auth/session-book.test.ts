/** SessionBook: who owns which stored session, and which one goes when a user is at its limit. Pure. */
import { expect, test } from "vitest"
import { SessionBook } from "../../../server/auth/session-book"

function book(limits: { maxSessions?: number; maxSessionsPerUser?: number; expiryMs?: number } = {}) {
    let now = 0
    const b = new SessionBook({ maxSessions: 100, maxSessionsPerUser: 3, expiryMs: 1000, ...limits }, () => now)
    /** `owner` stores a session under `id` and its client leaves `at` ms. */
    const left = (id: string, owner: string, at: number) => {
        const client = {}
        b.connected(id, owner, client)
        now = at
        b.disconnected(id, client)
    }
    return { b, left, setNow: (t: number) => (now = t) }
}

test("at its limit a user's new session evicts its own session offline the longest, never another user's", () => {
    const { b, left } = book()
    left("u-2", "u", 20)
    left("u-1", "u", 10)
    left("v-1", "v", 5)
    left("u-3", "u", 30)
    expect(b.admit("u-4", "u")).toEqual({ ok: true, evict: ["u-1"] })
    // resuming its own session is not a new one
    expect(b.admit("u-2", "u")).toEqual({ ok: true, evict: [] })
    expect(b.admit("v-2", "v")).toEqual({ ok: true, evict: [] })
})

test("a user whose sessions are all connected is refused one more; so is anyone past the total", () => {
    const { b } = book({ maxSessions: 3, maxSessionsPerUser: 2 })
    b.connected("u-1", "u", {})
    b.connected("u-2", "u", {})
    expect(b.admit("u-3", "u")).toMatchObject({ ok: false, why: "all of this user's stored sessions are in use" })
    b.connected("v-1", "v", {})
    expect(b.admit("w-1", "w")).toMatchObject({ ok: false, why: "the server holds its maximum of stored sessions" })
})

test("a client that left after someone took its session over does not mark it offline", () => {
    const { b, setNow } = book()
    const first = {}
    b.connected("u-1", "u", first)
    b.connected("u-1", "u", {})
    b.disconnected("u-1", first)
    setNow(10_000)
    expect(b.takeExpired()).toEqual([])
})

test("sessions offline for the expiry are taken out; connected ones never", () => {
    const { b, left, setNow } = book()
    left("u-1", "u", 100)
    b.connected("u-2", "u", {})
    setNow(1099)
    expect(b.takeExpired()).toEqual([])
    setNow(1100)
    expect(b.takeExpired()).toEqual(["u-1"])
    expect(b.ownerOf("u-1")).toBeUndefined()
    expect(b.size).toBe(1)
})
