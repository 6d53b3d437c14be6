/**
 * How far the page lags the live stream, from the probe's values: when each was sent (the bench's
 * Date.now) and when the page showed it (the page's timeOrigin + now; the same machine's clock). A value
 * the page skipped because a later one showed first is fine (the page folds updates); only values sent
 * after the last one shown, still missing at the end, count as never shown. Pure.
 */
import { median, percentile, round } from "./stats"

export interface TimedValue {
    value: number
    /** ms, wall clock */
    at: number
}

export interface ProbeLag {
    /** probe values sent */
    sent: number
    /** values the page showed (each counted once, the first time) */
    shown: number
    /** values passed over: a later value showed, this one never did */
    skipped: number
    /** values sent after the last one shown: still not on screen at the end */
    neverShown: number
    /** shown − sent, ms, over the values shown; null when none was */
    medianMs: number | null
    p95Ms: number | null
    maxMs: number | null
}

/** Lag figures from the values sent (in the order sent, each value once) and the changes the page showed. */
export function probeLag(sent: readonly TimedValue[], shown: readonly TimedValue[]): ProbeLag {
    const sentAt = new Map<number, { index: number; at: number }>()
    sent.forEach((s, index) => sentAt.set(s.value, { index, at: s.at }))
    const seen = new Set<number>()
    const lags: number[] = []
    let last = -1
    for (const change of shown) {
        const origin = sentAt.get(change.value)
        // the page's value before the run, or one shown again: not a new value
        if (!origin || seen.has(origin.index)) continue
        seen.add(origin.index)
        lags.push(change.at - origin.at)
        last = Math.max(last, origin.index)
    }
    const sorted = lags.sort((a, b) => a - b)
    const ms = (n: number | null) => (n === null ? null : round(n, 0))
    return {
        sent: sent.length,
        shown: seen.size,
        skipped: last + 1 - seen.size,
        neverShown: sent.length - (last + 1),
        medianMs: ms(median(sorted)),
        p95Ms: ms(percentile(sorted, 95)),
        maxMs: ms(sorted.length === 0 ? null : sorted[sorted.length - 1]),
    }
}
