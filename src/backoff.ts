/**
 * Reconnect delays: exponential, capped, with jitter, so a classroom of nightlights that lost the
 * broker together does not come back in one synchronized storm.
 */

export interface BackoffPolicy {
    /** First retry delay (ms). */
    minMs: number
    /** Largest delay (ms). */
    maxMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { minMs: 500, maxMs: 30000 }

/**
 * The delay before retry number `attempt` (0 = first retry): min·2^attempt capped at max, of which the
 * upper half is random ("equal jitter"). `random` is in [0, 1): Math.random() on the device.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: number): number {
    let ceiling = policy.minMs
    for (let i = 0; i < attempt && ceiling < policy.maxMs; i++) ceiling = ceiling * 2
    if (ceiling > policy.maxMs) ceiling = policy.maxMs
    return Math.round(ceiling / 2 + (random * ceiling) / 2)
}
