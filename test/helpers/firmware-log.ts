/** What the firmware printed, with when, for tests that read the device's own account of events. */
import type { SimulatedNightlight } from "../../sim/device"

export interface FirmwareLine {
    at: number
    line: string
}

export class FirmwareLog {
    readonly lines: FirmwareLine[] = []

    constructor(device: SimulatedNightlight) {
        device.on("firmware", line => this.lines.push({ at: performance.now(), line }))
    }

    matching(pattern: RegExp, since = 0): FirmwareLine[] {
        return this.lines.filter(l => l.at >= since && pattern.test(l.line))
    }

    /** Sequence numbers of the commands the firmware applied ("command N: LED on"), in order. */
    appliedCommands(): number[] {
        return this.matching(/^command \d+: LED/).map(l => Number(/^command (\d+)/.exec(l.line)![1]))
    }

    /** The highest reading sequence number the firmware reported sending. */
    lastSentSeq(): number {
        let last = 0
        for (const { line } of this.matching(/seq \d+/)) {
            const m = /seq (?:\d+\.\.)?(\d+)/.exec(line)
            if (m) last = Math.max(last, Number(m[1]))
        }
        return last
    }
}

/** How many times a list of numbers fails to increase strictly. */
export function outOfOrder(values: number[]): number {
    let count = 0
    for (let i = 1; i < values.length; i++) if (values[i] <= values[i - 1]) count++
    return count
}
