import { afterEach, describe, expect, it } from "vitest"
import { LoopStalls } from "../../../server/util/loop-stalls"
import { recordingLogger, until } from "../../helpers/mqtt"

/** Holds the thread, as a long store write or GC would. */
function busyFor(ms: number): void {
    const end = performance.now() + ms
    while (performance.now() < end) {
        // spin
    }
}

describe("LoopStalls", () => {
    let monitor: LoopStalls | undefined
    afterEach(() => monitor?.stop())

    it("logs at debug level how long the event loop was held up", async () => {
        const { logger, lines } = recordingLogger("debug")
        monitor = new LoopStalls(logger, 300)
        monitor.start()
        setTimeout(() => busyFor(60), 20)
        await until("a line about the event loop", () => lines.some(l => l.includes("event loop")), 3000)
        const line = lines.find(l => l.includes("event loop"))!
        const max = Number(/delay max ([\d.]+) ms/.exec(line)?.[1])
        expect(max).toBeGreaterThanOrEqual(50)
        expect(line).toMatch(/GC \d+ pauses/)
    })

    it("costs nothing and logs nothing when debug lines are not shown", async () => {
        const { logger, lines } = recordingLogger("info")
        monitor = new LoopStalls(logger, 50)
        monitor.start()
        busyFor(30)
        await new Promise(resolve => setTimeout(resolve, 200))
        expect(lines.filter(l => l.includes("event loop"))).toEqual([])
    })
})
