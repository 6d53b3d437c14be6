/**
 * Pure rules for the light reading: unit conversion, when to report, and the lesson's decision.
 * No I/O here, so they are unit-tested in the VM (`light.test.ts`).
 */
import { LIGHT_MAX } from "./protocol"

/** The lesson's threshold: the LED is on when light < 300. */
export const DEFAULT_THRESHOLD = 300

/** Converts a Jacdac light-level ratio (0..1) to the lesson's units (0..1023), clamped. */
export function toLessonUnits(ratio: number): number {
    if (isNaN(ratio) || ratio <= 0) return 0
    if (ratio >= 1) return LIGHT_MAX
    return Math.round(ratio * LIGHT_MAX)
}

/** Hysteresis band above the threshold (lesson units); the server's default, see server/protocol/contract.ts. */
export const DEFAULT_BAND = 100

/**
 * The same rule with hysteresis as the server's (server/protocol/contract.ts decideLedWithBand): on below the
 * threshold, off from threshold + band up, unchanged in between. Used when the device decides locally.
 */
export function decideWithBand(light: number, previous: boolean, threshold: number, band: number): boolean {
    if (light < threshold) return true
    if (light >= threshold + band) return false
    return previous === true
}

export interface ReportPolicy {
    /** Report at least this often, even when nothing changed (ms). The lesson's device: 2000. */
    intervalMs: number
    /** Report at once when the light moved by at least this much since the last report (lesson units). */
    minChange: number
    /** Never report on change more often than this (ms), so a noisy sensor cannot flood the broker. */
    minGapMs: number
    /**
     * The server's threshold and band as far as the device knows them: a reading that changes the rule's
     * decision is reported at once even when it moved less than `minChange`.
     */
    threshold: number
    band: number
}

export const DEFAULT_REPORT_POLICY: ReportPolicy = {
    intervalMs: 2000,
    minChange: 20,
    minGapMs: 200,
    threshold: DEFAULT_THRESHOLD,
    band: DEFAULT_BAND,
}

/** What was last reported; `at` is a millisecond clock (ds.millis()). */
export interface LastReport {
    light: number
    at: number
}

/**
 * Decides whether a sample should be published now. The sensor streams a sample every ~100 ms;
 * publishing each one would be ten identical messages a second, so only the first sample, a sample
 * that moved by `minChange` or changes the rule's decision, or one after `intervalMs` of silence is
 * reported. Light hovering around the threshold inside the band changes nothing, so it adds no reports.
 * `ruleState` is the rule's decision at the last report, not the LED: a LED held against the light (a
 * person's switch, a group's vote) would make every sample look like a switch.
 */
export function shouldReport(
    last: LastReport | undefined,
    light: number,
    now: number,
    policy: ReportPolicy,
    ruleState: boolean
): boolean {
    if (!last) return true
    const elapsed = now - last.at
    if (elapsed >= policy.intervalMs) return true
    if (elapsed < policy.minGapMs) return false
    if (decideWithBand(light, ruleState, policy.threshold, policy.band) !== ruleState) return true
    return Math.abs(light - last.light) >= policy.minChange
}
