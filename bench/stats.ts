/**
 * Small pure statistics for the bench: percentiles, the min/median/max of repeated runs (so a reader sees
 * the spread, not one lucky run), and a latency distribution compact enough for bench.json.
 */

/** The smallest, middle and largest of a figure over the repeated runs of a step. */
export interface Spread {
    min: number
    median: number
    max: number
}

/** The value at percentile p of an ascending array (nearest rank, below); null when empty. */
export function percentile(sorted: number[], p: number): number | null {
    if (sorted.length === 0) return null
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** The median of the values (the mean of the middle two for an even count); null when empty. */
export function median(values: number[]): number | null {
    if (values.length === 0) return null
    const sorted = [...values].sort((a, b) => a - b)
    const middle = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** min/median/max of the values that are numbers; null when none is (e.g. no latency in any run). */
export function spread(values: (number | null | undefined)[], digits = 1): Spread | null {
    const numbers = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v))
    if (numbers.length === 0) return null
    return {
        min: round(Math.min(...numbers), digits),
        median: round(median(numbers)!, digits),
        max: round(Math.max(...numbers), digits),
    }
}

/** Points of the distribution: the value at each whole percentile 0..100 (101 numbers); null when empty. */
export function quantiles(values: number[], digits = 2): number[] | null {
    if (values.length === 0) return null
    const sorted = [...values].sort((a, b) => a - b)
    return Array.from({ length: 101 }, (_, p) =>
        round(p === 100 ? sorted[sorted.length - 1] : percentile(sorted, p)!, digits)
    )
}

/** a / b, 2 decimals; null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
    return a == null || b == null || b === 0 ? null : round(a / b, 2)
}

export function round(n: number, digits = 1): number {
    return Number(n.toFixed(digits))
}
