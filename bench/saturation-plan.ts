/**
 * Which rate the saturation search offers next (saturation.ts runs the steps). Pure, so its rules are
 * tested without a system. Two phases:
 * - climb: start, start × factor, ... until a rate is not sustained twice in a row (a step that fails is
 *   run once more: on a shared machine a burst of other work can spoil one short step);
 * - refine: between the highest rate sustained and the lowest that failed, the geometric midpoint, a few
 *   times. With ×1.5 steps alone, two systems whose ceilings lie anywhere between the same two rates
 *   both report the lower one (a ratio of 1.0 whatever the truth); two refinements narrow the interval
 *   to ×1.5^(1/4) ≈ ×1.11.
 * A climb that ends because the load generator fell behind (not the system) is not refined: the
 * system's ceiling is then above what this machine can offer.
 */

export interface SaturationPlanOptions {
    /** the first rate offered (readings/s) */
    start: number
    /** each climbing step offers this many times the last */
    factor: number
    /** rates of the climb at most */
    climbSteps: number
    /** midpoints tried between the highest sustained and the lowest failed rate */
    refineSteps: number
}

export type SaturationPhase = "climb" | "refine" | "done"

export class SaturationPlan {
    private phase: SaturationPhase = "climb"
    private climbed = 0
    private refined = 0
    private failedOnce = false
    private current: number
    /** the highest rate sustained, and the lowest that failed twice */
    private low?: number
    private high?: number
    /** why the climb ended, and why the plan did */
    private climbStop = ""
    private reason = ""
    private generatorLimited = false

    constructor(private readonly o: SaturationPlanOptions) {
        this.current = Math.round(o.start)
    }

    /** The rate to offer next, or null: the search is over (see `stoppedBy`). */
    get next(): number | null {
        return this.phase === "done" ? null : this.current
    }

    /** The rate to offer next is one that failed once. */
    get again(): boolean {
        return this.failedOnce
    }

    get stoppedBy(): string {
        return this.reason
    }

    /** A rate failed twice because of the system, not the generator: the system's ceiling is below it. */
    get ceilingFound(): boolean {
        return this.high !== undefined && !this.generatorLimited
    }

    /** The climb ended because the load generator could not send the offered rate. */
    get limitedByGenerator(): boolean {
        return this.generatorLimited
    }

    /** The step at `next` ran: `stop` is why it was not sustained (null: sustained). */
    record(stop: string | null, limitedByGenerator = false): void {
        if (this.phase === "done") throw new Error("the saturation search is over")
        const offered = this.current
        if (stop !== null && !this.failedOnce) {
            this.failedOnce = true // the same rate once more
            return
        }
        this.failedOnce = false
        if (stop === null) this.low = offered
        else this.high = offered
        if (this.phase === "refine") {
            this.refined++
            return this.refineOrEnd()
        }
        this.climbed++
        if (stop === null) {
            if (this.climbed >= this.o.climbSteps)
                return this.end(`no step fell behind (${this.o.climbSteps} steps, the most allowed)`)
            this.current = Math.round(this.o.start * this.o.factor ** this.climbed)
            return
        }
        this.climbStop = `${offered}/s, twice: ${stop}`
        this.generatorLimited = limitedByGenerator
        // Nothing to refine below the first rate, nor above what the generator can send.
        if (this.low === undefined || limitedByGenerator) return this.end(this.climbStop)
        this.phase = "refine"
        this.refineOrEnd()
    }

    private refineOrEnd(): void {
        const low = this.low!
        const high = this.high!
        const middle = Math.round(Math.sqrt(low * high))
        if (this.refined < this.o.refineSteps && middle > low && middle < high) {
            this.current = middle
            return
        }
        const refined = this.refined === 0 ? "" : `, ${this.refined} step(s) between`
        this.end(`${this.climbStop}${refined}; the ceiling lies between ${low}/s (sustained) and ${high}/s (not)`)
    }

    private end(reason: string): void {
        this.phase = "done"
        this.reason = reason
    }
}
