import { describe, expect, test } from "@devicescript/test"
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff"

describe("backoffDelay", () => {
    const p = DEFAULT_BACKOFF
    test("starts between half and all of the minimum", () => {
        expect(backoffDelay(0, p, 0)).toBe(250)
        expect(backoffDelay(0, p, 0.999) <= 500).toBe(true)
    })
    test("doubles with each attempt", () => {
        expect(backoffDelay(1, p, 0)).toBe(500)
        expect(backoffDelay(2, p, 0)).toBe(1000)
        expect(backoffDelay(3, p, 0.5)).toBe(3000)
    })
    test("is capped at the maximum, even after many attempts", () => {
        expect(backoffDelay(6, p, 0.999) <= 30000).toBe(true)
        expect(backoffDelay(1000, p, 0)).toBe(15000)
        expect(backoffDelay(1000, p, 0.999) <= 30000).toBe(true)
    })
})
