import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { Outbox } from "./outbox"

async function fill(box: Outbox, n: number) {
    for (let i = 0; i < n; i++) {
        box.add(1000 + i, i, false, false)
        // the VM stops a fiber that runs too long without yielding ("InfiniteLoop")
        if (i % 50 === 49) await ds.sleep(0)
    }
}

describe("Outbox", () => {
    test("numbers readings 1, 2, 3 and keeps their fields", async () => {
        const box = new Outbox(10)
        const r = box.add(123456, 1023, true, true)
        expect(r.seq).toBe(1)
        expect(r.t).toBe(123456)
        expect(r.light).toBe(1023)
        expect(r.led).toBe(true)
        expect(r.local).toBe(true)
        expect(box.add(0, 5, false, false).seq).toBe(2)
        expect(box.size()).toBe(2)
    })
    test("hands out unsent readings in order, in batches", async () => {
        const box = new Outbox(10)
        await fill(box, 5)
        const first = box.takeUnsent(3)
        expect(first.length).toBe(3)
        expect(first[0].seq).toBe(1)
        expect(first[2].seq).toBe(3)
        const rest = box.takeUnsent(10)
        expect(rest.length).toBe(2)
        expect(rest[0].seq).toBe(4)
        expect(box.takeUnsent(10).length).toBe(0)
    })
    test("a cumulative ack forgets everything up to it", async () => {
        const box = new Outbox(10)
        await fill(box, 5)
        box.takeUnsent(5)
        expect(box.oldestSeq()).toBe(1)
        expect(box.ack(3)).toBe(3)
        expect(box.oldestSeq()).toBe(4)
        expect(box.size()).toBe(2)
        expect(box.unsent()).toBe(0)
        box.rewind()
        expect(box.takeUnsent(10)[0].seq).toBe(4)
    })
    test("rewind sends every held reading again, in order", async () => {
        const box = new Outbox(10)
        await fill(box, 3)
        box.takeUnsent(3)
        box.rewind()
        const again = box.takeUnsent(10)
        expect(again.length).toBe(3)
        expect(again[0].seq).toBe(1)
    })
    test("drops the oldest when full, counts them, and wraps around", async () => {
        const box = new Outbox(4)
        await fill(box, 10)
        expect(box.size()).toBe(4)
        expect(box.dropped).toBe(6)
        const held = box.takeUnsent(10)
        expect(held[0].seq).toBe(7)
        expect(held[3].seq).toBe(10)
        expect(held[3].light).toBe(9)
    })
    test("untake puts readings whose publish failed back first in line", async () => {
        const box = new Outbox(10)
        await fill(box, 5)
        box.takeUnsent(5)
        box.untake(3)
        expect(box.takeUnsent(1)[0].seq).toBe(3)
    })
    test("clearSent forgets what was sent, keeps what was not", async () => {
        const box = new Outbox(10)
        await fill(box, 5)
        box.takeUnsent(3)
        box.clearSent()
        expect(box.size()).toBe(2)
        expect(box.takeUnsent(10)[0].seq).toBe(4)
    })
    test("600 readings fit a small board", async () => {
        const box = new Outbox(600)
        await fill(box, 700)
        expect(box.size()).toBe(600)
        expect(box.dropped).toBe(100)
    })
})
