/**
 * What one device's chart shows, kept apart from drawing: the readings of the last WINDOW_MS (history
 * first, live appended) as uPlot's columns, and the threshold band the device was judged by at each
 * time (bandSpans): its own rule in force then (deviceRules, "rule" events), else the fleet's.
 * A point's LED is what the device reported with the reading, or for a device that reports none (the
 * lesson's), the last command the server sent before it.
 */
import type { DeviceRuleChange, HistoryResponse, LiveEvent, RuleChange, RuleSettings } from "../server/http/api-types"

/** The span shown, ms. */
export const WINDOW_MS = 10 * 60_000
/** Most points kept per chart, whatever the rate (history is asked for fewer). */
export const MAX_POINTS = 3000
/** The shortest span shown, ms: a device that just started fills the chart instead of a sliver of it. */
export const MIN_SPAN_MS = 60_000
/** Points asked of the history endpoint for the window. */
export const HISTORY_POINTS = 600
const LIGHT_MAX = 1023

interface Point {
    t: number
    light: number
    /** The LED as the device reported it with the reading. */
    reported: boolean | null
}

interface Command {
    t: number
    ledOn: boolean
}

/** The band from `from` to `to` (ms): threshold and threshold + band, in light units. */
export interface BandSpan {
    from: number
    to: number
    lower: number
    upper: number
}

type Reading = Extract<LiveEvent, { type: "reading" }>

export class ChartData {
    private points: Point[] = []
    /** The server's decisions, oldest first: the LED state for readings that carry none. */
    private commands: Command[] = []
    /** The fleet's threshold and band from each change on, oldest first. */
    private rules: RuleChange[] = []
    /** The device's own from each change on (null: the fleet's again), oldest first. */
    private own: DeviceRuleChange[] = []

    get size(): number {
        return this.points.length
    }

    get oldest(): number | null {
        return this.points.length > 0 ? this.points[0].t : null
    }

    get newest(): number | null {
        return this.points.length > 0 ? this.points[this.points.length - 1].t : null
    }

    /** Replaces everything with a history answer. */
    load(history: HistoryResponse): void {
        this.points = history.readings.map(r => ({ t: r.t, light: r.light, reported: r.led }))
        this.commands = history.commands.map(c => ({ t: c.t, ledOn: c.ledOn })).sort((a, b) => a.t - b.t)
        // a server that keeps no settings history: today's rule over the whole window
        this.rules = history.settingsHistory
            ? [...history.settingsHistory].sort((a, b) => a.t - b.t)
            : [{ t: -Infinity, ...history.settings }]
        // an older server: the fleet's band for every device
        this.own = [...(history.deviceRules ?? [])].sort((a, b) => a.t - b.t)
        this.trim()
    }

    /** The fleet's rule changed at `t` (a "settings" event): the band moves from then on, not before. */
    addRule(t: number, settings: RuleSettings): void {
        const at = insertionIndex(this.rules, t)
        this.rules.splice(at, this.rules[at]?.t === t ? 1 : 0, { t, ...settings })
    }

    /** The device's own rule changed at `t` (a "rule" event; null: the fleet's again), from then on. */
    addOwnRule(t: number, rule: RuleSettings | null): void {
        const at = insertionIndex(this.own, t)
        this.own.splice(at, this.own[at]?.t === t ? 1 : 0, { t, rule })
    }

    /** A live reading; out-of-order ones go in their place, one already shown is ignored. */
    addReading(reading: Reading): void {
        const point = { t: reading.t, light: reading.light, reported: reading.led }
        const at = insertionIndex(this.points, point.t)
        if (this.points[at]?.t === point.t) return
        this.points.splice(at, 0, point)
        this.trim()
    }

    /**
     * A decision, from a "command" event or a device's lastCommand (both may tell the same one). It
     * applies from its time on, also to the reading that caused it, which arrives first.
     */
    addCommand(t: number, ledOn: boolean): void {
        const at = insertionIndex(this.commands, t)
        if (this.commands[at]?.t === t) this.commands[at] = { t, ledOn }
        else this.commands.splice(at, 0, { t, ledOn })
        this.trim()
    }

    /** uPlot's columns: x (s), LED (0/1), light. */
    columns(): [number[], (number | null)[], number[]] {
        const led: (number | null)[] = []
        let next = 0
        let commanded: boolean | null = null
        for (const point of this.points) {
            while (next < this.commands.length && this.commands[next].t <= point.t)
                commanded = this.commands[next++].ledOn
            led.push(ledValue(point.reported, commanded))
        }
        return [this.points.map(p => p.t / 1000), led, this.points.map(p => p.light)]
    }

    /**
     * The band over [start, end] (ms), one span per rule in force in it, each as it was then: the
     * device's own, else the fleet's. Before the first rule on record (a database older than the
     * settings history) there is none to draw.
     */
    bandSpans(start: number, end: number): BandSpan[] {
        const spans: BandSpan[] = []
        const rules = this.inForce()
        for (let i = 0; i < rules.length; i++) {
            const { t, rule } = rules[i]
            const from = Math.max(start, t)
            const to = Math.min(end, rules[i + 1]?.t ?? Infinity)
            if (rule && from < to)
                spans.push({ from, to, lower: rule.threshold, upper: Math.min(rule.threshold + rule.band, LIGHT_MAX) })
        }
        return spans
    }

    /** The rule the device was judged by from each change (its own or the fleet's) on; null: none on record. */
    private inForce(): DeviceRuleChange[] {
        const times = [...new Set([...this.rules.map(r => r.t), ...this.own.map(r => r.t)])].sort((a, b) => a - b)
        const changes: DeviceRuleChange[] = []
        let fleet = -1
        let own = -1
        for (const t of times) {
            while (fleet + 1 < this.rules.length && this.rules[fleet + 1].t <= t) fleet++
            while (own + 1 < this.own.length && this.own[own + 1].t <= t) own++
            const rule = (own >= 0 ? this.own[own].rule : null) ?? (fleet >= 0 ? this.rules[fleet] : null)
            const last = changes[changes.length - 1]?.rule
            // a fleet change under a device's own rule: the same band goes on
            if (changes.length > 0 && last?.threshold === rule?.threshold && last?.band === rule?.band) continue
            changes.push({ t, rule: rule && { threshold: rule.threshold, band: rule.band } })
        }
        return changes
    }

    /** The time axis (s): up to now (or the newest reading, if that is later), back to the oldest reading. */
    xRange(now: number): [number, number] {
        const end = Math.max(now, this.newest ?? 0)
        const start = Math.max(end - WINDOW_MS, Math.min(this.oldest ?? end, end - MIN_SPAN_MS))
        return [start / 1000, end / 1000]
    }

    /** Keeps the window (and at most MAX_POINTS), and of older commands only the one still in force. */
    private trim(): void {
        const newest = this.newest
        if (newest === null) return
        const start = newest - WINDOW_MS
        const old = this.points.findIndex(p => p.t >= start)
        const drop = Math.max(old < 0 ? this.points.length : old, this.points.length - MAX_POINTS)
        if (drop > 0) this.points.splice(0, drop)
        const first = this.points[0]?.t ?? newest
        const inForce = insertionIndex(this.commands, first + 1) - 1
        if (inForce > 0) this.commands.splice(0, inForce)
        if (this.commands.length > MAX_POINTS) this.commands.splice(0, this.commands.length - MAX_POINTS)
        const ruleInForce = insertionIndex(this.rules, start + 1) - 1
        if (ruleInForce > 0) this.rules.splice(0, ruleInForce)
        if (this.rules.length > MAX_POINTS) this.rules.splice(0, this.rules.length - MAX_POINTS)
        const ownInForce = insertionIndex(this.own, start + 1) - 1
        if (ownInForce > 0) this.own.splice(0, ownInForce)
        if (this.own.length > MAX_POINTS) this.own.splice(0, this.own.length - MAX_POINTS)
    }
}

/** Where `t` goes in a list sorted by t (the index of the first entry at or after it). */
function insertionIndex(list: { t: number }[], t: number): number {
    let low = 0
    let high = list.length
    while (low < high) {
        const middle = (low + high) >> 1
        if (list[middle].t < t) low = middle + 1
        else high = middle
    }
    return low
}

function ledValue(reported: boolean | null, commanded: boolean | null): number | null {
    const led = reported ?? commanded
    return led === null ? null : led ? 1 : 0
}
