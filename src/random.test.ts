import { describe, expect, test } from "@devicescript/test"
import { newBootId, random01 } from "./random"

describe("random", () => {
    test("boot ids are 8 hex digits and differ", () => {
        const a = newBootId()
        const b = newBootId()
        expect(a.length).toBe(8)
        expect(a === b).toBe(false)
        let hex = true
        for (let i = 0; i < a.length; i++) if ("0123456789abcdef".indexOf(a[i]) < 0) hex = false
        expect(hex).toBe(true)
    })
    test("random01 stays in [0, 1) and varies", () => {
        let min = 1
        let max = 0
        for (let i = 0; i < 50; i++) {
            const r = random01()
            if (r < min) min = r
            if (r > max) max = r
        }
        expect(min >= 0).toBe(true)
        expect(max < 1).toBe(true)
        expect(max - min > 0.1).toBe(true)
    })
})
