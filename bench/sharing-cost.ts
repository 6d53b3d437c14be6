/**
 * What sharing the telemetry costs the servers of a share group, from the scale-out steps: their CPU per
 * reading against one server's at the same load per server. On this machine the servers, Mosquitto and
 * the load generator share two cores, so the ceilings of 2 or 3 servers say little about a second
 * machine. The work per reading does: if two servers together spend as much per reading as one server
 * at the same load per server, each does half the work, and two machines could take about twice what one
 * takes (as long as the broker keeps up). The goal, 2 servers ≥ 1.7× one, needs a cost ratio of
 * at most 2 / 1.7 ≈ 1.18.
 *
 * At the same load per server, not the same total: a server's CPU per reading falls as its rate grows
 * (more readings share each turn of its event loop and each write of its store), so two servers at the
 * rate one server had would each see half of it and look dearer than they are.
 */
import { median } from "./stats"

/** One step that kept up: its offered rate, what the servers handled, and each server's CPU % of a core. */
export interface SharingStep {
    offeredPerS: number
    handledPerS: number
    serversCpuPercent: number[]
}

/** A point of a cost curve: readings/s per server, and the servers' CPU µs per reading handled (all together). */
export interface CostPoint {
    perServerPerS: number
    microsPerReading: number
}

export const SHARING = {
    /**
     * Steps whose servers each used less than this share of a core are left out: CPU is read in clock
     * ticks (10 ms) and rounded to whole percents, too coarse below it.
     */
    minServerCpuPercent: 10,
}

/**
 * The cost curve of `instances` servers from their steps that kept up (handled at least `keepUp` of the
 * offered rate), ascending by load per server: one point per offered rate, the median of its runs.
 */
export function costCurve(instances: number, steps: SharingStep[], keepUp: number): CostPoint[] {
    const byRate = new Map<number, CostPoint[]>()
    for (const s of steps) {
        if (!(s.handledPerS > 0 && s.handledPerS >= s.offeredPerS * keepUp)) continue
        if (s.serversCpuPercent.some(p => p < SHARING.minServerCpuPercent)) continue
        const point = {
            perServerPerS: s.handledPerS / instances,
            microsPerReading: (s.serversCpuPercent.reduce((a, b) => a + b, 0) * 1e4) / s.handledPerS,
        }
        byRate.set(s.offeredPerS, [...(byRate.get(s.offeredPerS) ?? []), point])
    }
    return [...byRate.values()]
        .map(points => ({
            perServerPerS: median(points.map(p => p.perServerPerS))!,
            microsPerReading: median(points.map(p => p.microsPerReading))!,
        }))
        .sort((a, b) => a.perServerPerS - b.perServerPerS)
}

/**
 * One server's CPU µs per reading at `perServerPerS`, between its two nearest points (linear in the log
 * of the rate, as the steps grow by a factor); null outside the range it was measured over.
 */
export function costAt(one: CostPoint[], perServerPerS: number): number | null {
    if (one.length === 0) return null
    if (perServerPerS < one[0].perServerPerS || perServerPerS > one.at(-1)!.perServerPerS) return null
    const same = one.find(p => p.perServerPerS === perServerPerS)
    if (same) return same.microsPerReading
    const above = one.findIndex(p => p.perServerPerS > perServerPerS)
    const [lo, hi] = [one[above - 1], one[above]]
    const f = Math.log(perServerPerS / lo.perServerPerS) / Math.log(hi.perServerPerS / lo.perServerPerS)
    return lo.microsPerReading + f * (hi.microsPerReading - lo.microsPerReading)
}

/**
 * The servers' CPU per reading against one server's at the same load per server: the median over the
 * points of `many` that lie within one server's measured range; null when none does. 1: sharing is free.
 */
export function sharingCost(one: CostPoint[], many: CostPoint[]): number | null {
    const ratios = many.flatMap(p => {
        const base = costAt(one, p.perServerPerS)
        return base ? [p.microsPerReading / base] : []
    })
    return median(ratios)
}

/** The goal: 2 servers ≥ 1.7× one, so at most this sharing cost. */
export const SHARING_COST_GOAL = 2 / 1.7

/**
 * "2 servers ×1.07 (on 2 machines: up to 1.87× one), 3 servers ..." for the rows with a sharing cost;
 * "" when none has one.
 */
export function sharingSummary(rows: { instances: number; sharingCost?: number | null }[]): string {
    return rows
        .filter(r => typeof r.sharingCost === "number")
        .map(r => {
            const cost = r.sharingCost!
            return `${r.instances} servers ×${cost.toFixed(2)} (on ${r.instances} machines: up to ${(r.instances / cost).toFixed(2)}× one)`
        })
        .join(", ")
}
