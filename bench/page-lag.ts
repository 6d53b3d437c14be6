/**
 * How far the page lags the live stream, from the probe's values: when each was sent (the bench's
 * Date.now) and when the page showed it (the page's timeOrigin + now; the same machine's clock). A
 * value's lag is the time until the page showed it or a later one: a page that folds updates may skip
 * values, but a value it skipped is on screen only once a newer one is. Values sent after the last one
 * shown, still missing at the end, count as never shown. Pure.
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
    /** values the page showed itself */
    shown: number
    /** values passed over: a later value showed, this one never did */
    skipped: number
    /** values sent after the last one shown: still not on screen at the end */
    neverShown: number
    /** over the values shown or skipped: until it or a later value showed, ms; null when none did */
    medianMs: number | null
    p95Ms: number | null
    maxMs: number | null
}

/** Lag figures from the values sent (in the order sent, each value once) and the changes the page showed. */
export function probeLag(sent: readonly TimedValue[], shown: readonly TimedValue[]): ProbeLag {
    const indexOf = new Map(sent.map((s, index) => [s.value, index]))
    // when each value first showed; the page's value from before the run is none of them
    const firstShown = new Array<number>(sent.length).fill(Infinity)
    for (const change of shown) {
        const index = indexOf.get(change.value)
        if (index !== undefined) firstShown[index] = Math.min(firstShown[index], change.at)
    }
    const lags: number[] = []
    let onScreenBy = Infinity // the earliest time a value at least as new as this one showed
    for (let i = sent.length - 1; i >= 0; i--) {
        onScreenBy = Math.min(onScreenBy, firstShown[i])
        if (onScreenBy < Infinity) lags.push(onScreenBy - sent[i].at)
    }
    const shownCount = firstShown.filter(at => at < Infinity).length
    const sorted = lags.sort((a, b) => a - b)
    const ms = (n: number | null) => (n === null ? null : round(n, 0))
    return {
        sent: sent.length,
        shown: shownCount,
        skipped: lags.length - shownCount,
        neverShown: sent.length - lags.length,
        medianMs: ms(median(sorted)),
        p95Ms: ms(percentile(sorted, 95)),
        maxMs: ms(sorted.length === 0 ? null : sorted[sorted.length - 1]),
    }
}
