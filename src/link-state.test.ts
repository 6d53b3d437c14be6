import { describe, expect, test } from "@devicescript/test"
import { LinkState, RESEND_MAX_MS, RESEND_MIN_MS } from "./link-state"

describe("LinkState: local decisions", () => {
    test("the device decides locally only after the server was silent for the set time", () => {
        const s = new LinkState(0, 10000)
        expect(s.isLocal(10000)).toBe(false)
        expect(s.isLocal(10001)).toBe(true)
    })
    test("hands control back as soon as the server speaks", () => {
        const s = new LinkState(0, 10000)
        expect(s.isLocal(20000)).toBe(true)
        s.heard(20000)
        expect(s.isLocal(20001)).toBe(false)
    })
    test("a new silence timeout (the server's config) counts from the last word heard", () => {
        const s = new LinkState(0, 60000)
        s.heard(5000)
        s.setLocalAfter(10000)
        expect(s.isLocal(15000)).toBe(false)
        expect(s.isLocal(15001)).toBe(true)
    })
})

describe("LinkState: commands", () => {
    test("applies newer commands and refuses older or repeated ones", () => {
        const s = new LinkState(0, 10000)
        expect(s.acceptCommand(100)).toBe(true)
        expect(s.acceptCommand(99)).toBe(false)
        expect(s.acceptCommand(100)).toBe(false)
        expect(s.acceptCommand(101)).toBe(true)
        expect(s.lastCommand()).toBe(101)
    })
    test("always applies the lesson's commands, which have no sequence", () => {
        const s = new LinkState(0, 10000)
        s.acceptCommand(100)
        expect(s.acceptCommand(0)).toBe(true)
        expect(s.lastCommand()).toBe(100)
    })
})

describe("LinkState: resending", () => {
    test("waits, then backs off to the maximum", () => {
        const s = new LinkState(0, 10000)
        expect(s.resendDue(RESEND_MIN_MS - 1)).toBe(false)
        expect(s.resendDue(RESEND_MIN_MS)).toBe(true)
        expect(s.resendDue(RESEND_MIN_MS + 1)).toBe(false)
        let now = RESEND_MIN_MS
        let due = 0
        for (let i = 0; i < 200; i++) {
            now += 1000
            if (s.resendDue(now)) due++
        }
        // 200 s with waits of 10, 20, 40, 60, 60, ... s
        expect(due <= 5).toBe(true)
        expect(due >= 3).toBe(true)
    })
    test("an ack that moved the outbox resets the wait and marks the server as acknowledging", () => {
        const s = new LinkState(0, 10000)
        expect(s.acking).toBe(false)
        s.resendDue(RESEND_MIN_MS)
        s.acked(6000, true)
        expect(s.acking).toBe(true)
        expect(s.resendDue(6000 + RESEND_MIN_MS - 1)).toBe(false)
        expect(s.resendDue(6000 + RESEND_MIN_MS)).toBe(true)
        expect(RESEND_MAX_MS > RESEND_MIN_MS).toBe(true)
    })
    test("an ack that moved nothing does not hold back the resend", () => {
        const s = new LinkState(0, 10000)
        s.acked(1000, true)
        for (let t = 2000; t < 6000; t += 500) s.acked(t, false)
        expect(s.acking).toBe(true)
        expect(s.resendDue(1000 + RESEND_MIN_MS)).toBe(true)
    })
})
