/** What the figures were measured on, for a report: cores, CPU model, memory, load. */
import { cpus, loadavg, totalmem } from "node:os"
import { round } from "./stats"

export interface Machine {
    cpus: number
    cpuModel: string
    memoryGB: number
    /** 1, 5 and 15 minutes, as `uptime` prints them. */
    loadAverage: number[]
}

export function machine(): Machine {
    return {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        memoryGB: round(totalmem() / 2 ** 30, 1),
        loadAverage: loadavg().map(l => round(l, 2)),
    }
}
