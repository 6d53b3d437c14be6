/** The results table (stdout) and the ours/lesson ratios; the real firmware's section (`--firmware`). */
import type { FirmwareResult } from "./firmware"

export interface StepResult {
    system: string
    offeredPerS: number
    /** readings the load generator actually published per second */
    sentPerS: number
    /** readings confirmed per second within the step: by acks (ours) or commands (lesson) */
    handledPerS: number
    handledBy: "acks" | "commands"
    /** server + broker CPU (user + system) in the step, per confirmed reading */
    cpuMicrosPerReading: number | null
    /** server + broker CPU in the step, % of one core */
    cpuPercent: number
    latencyP50Ms: number | null
    latencyP99Ms: number | null
    crossingsAnswered: number
    /** crossings with no command with the new led_on: within 2 s after the step, or before the next crossing */
    crossingsUnanswered: number
    /** peak resident memory of server + broker */
    rssMB: number | null
    /** commands received by the devices per reading sent */
    commandsPerReading: number | null
}

export interface Row extends StepResult {
    /** ours / lesson at the same offered rate: CPU µs per reading (below 1: ours is cheaper) */
    cpuRatio?: number | null
    /** ours / lesson at the same offered rate: handled readings/s (1: both kept up) */
    throughputRatio?: number | null
}

/** The value at percentile p of an ascending array (nearest rank, below); null when empty. */
export function percentile(sorted: number[], p: number): number | null {
    if (sorted.length === 0) return null
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const show = (v: number | null | undefined) => (v === null || v === undefined ? "-" : String(v))

/** Right-aligned columns, the header first. */
function printColumns(table: string[][]): void {
    const widths = table[0].map((_, i) => Math.max(...table.map(row => row[i].length)))
    for (const row of table) console.log(row.map((cell, i) => cell.padStart(widths[i])).join("  "))
}

const ratio = (a: number | null, b: number | null): number | null =>
    a === null || b === null || b === 0 ? null : Number((a / b).toFixed(2))

export function printTable(results: StepResult[]): Row[] {
    const rows: Row[] = results.map(r => {
        if (r.system !== "ours") return { ...r }
        const lesson = results.find(l => l.system === "lesson" && l.offeredPerS === r.offeredPerS)
        if (!lesson) return { ...r }
        return {
            ...r,
            cpuRatio: ratio(r.cpuMicrosPerReading, lesson.cpuMicrosPerReading),
            throughputRatio: ratio(r.handledPerS, lesson.handledPerS),
        }
    })
    const header = [
        "system",
        "offered/s",
        "sent/s",
        "handled/s",
        "counted by",
        "CPU µs/rd",
        "CPU %",
        "p50 ms",
        "p99 ms",
        "crossings ok/lost",
        "RSS MB",
        "cmds/rd",
        "CPU ours/lesson",
        "thrpt ours/lesson",
    ]
    const table = [
        header,
        ...rows.map(r => [
            r.system,
            show(r.offeredPerS),
            show(r.sentPerS),
            show(r.handledPerS),
            r.handledBy,
            show(r.cpuMicrosPerReading),
            show(r.cpuPercent),
            show(r.latencyP50Ms),
            show(r.latencyP99Ms),
            `${r.crossingsAnswered}/${r.crossingsUnanswered}`,
            show(r.rssMB),
            show(r.commandsPerReading),
            show(r.cpuRatio),
            show(r.throughputRatio),
        ]),
    ]
    console.log("")
    printColumns(table)
    console.log(
        "\nhandled/s: readings the server confirmed within the step (ours: highest acked seq per device; lesson:" +
            " commands received, one per reading).\nCPU: server + broker processes (/proc utime+stime) per handled" +
            " reading. Latency: reading that crosses the threshold → command with the new led_on.\nRatios: ours / lesson" +
            " at the same offered rate (CPU below 1 = ours cheaper; throughput 1 = both kept up)."
    )
    return rows
}

export function printFirmware(result: FirmwareResult): void {
    console.log("\nReal firmware (DeviceScript VM): light change across the threshold → LED change")
    printColumns([
        ["server", "toggles", "missed", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        ...result.reaction.map(r =>
            [r.system, r.toggles, r.misses, r.p50Ms, r.p90Ms, r.p99Ms, r.maxMs].map(v => show(v as number | null))
        ),
    ])
    if (result.lessonSkipped) console.log(`no lesson baseline: ${result.lessonSkipped}`)
    else console.log(`ours/lesson: p50 ${show(result.p50Ratio)}, p99 ${show(result.p99Ratio)} (below 1: ours faster)`)
    console.log("\nFirmware footprint (built/<board>/bytecode.devs; breakdown from `devs build --stats`)")
    printColumns([
        ["board", "bytecode B", "functions", "function B", "strings B", "data B", "rebuilt"],
        ...result.footprint.map(f => [
            f.board,
            show(f.bytecodeBytes),
            show(f.stats?.functions),
            show(f.stats?.functionBytes),
            show(f.stats?.stringsBytes),
            show(f.stats?.dataBytes),
            f.rebuilt ? "yes" : "no",
        ]),
    ])
}
