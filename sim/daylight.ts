/**
 * A short day/night cycle for the simulated light sensor, so a newcomer sees the LED switch on and off
 * within a minute: bright day (~900) at the start, dark night (~50) half a cycle later.
 */

export const DAYLIGHT_DEFAULTS = {
    /**
     * One full day and night (ms). With the default threshold (300) and band (100) the LED comes on about
     * 20 s in and goes off about 44 s in (README "Quick start").
     */
    cycleMs: 60_000,
    /** The light changes in steps this far apart (ms), like a cloud or a lamp, not every sample. */
    stepMs: 1_000,
    /** Brightest and darkest light (lesson units, 0..1023). */
    day: 900,
    night: 50,
}

/** The light at `elapsedMs` into the cycle: a cosine from `day` down to `night` and back. */
export function daylight(elapsedMs: number, cycleMs = DAYLIGHT_DEFAULTS.cycleMs): number {
    const { day, night } = DAYLIGHT_DEFAULTS
    const phase = (2 * Math.PI * (elapsedMs % cycleMs)) / cycleMs
    return Math.round(night + ((day - night) * (1 + Math.cos(phase))) / 2)
}
