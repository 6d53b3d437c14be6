/**
 * Which of GET /api/stats's counters are refusals, in words, for the "Refused and limited" panel
 * (stats-panel.ts). Pure. Unknown counters are shown by their name, so a counter added on the server
 * appears without a change here.
 */
import type { StatsResponse } from "../server/http/api-types"

/** Counters in words; any other is shown by its name ("takeoversRefused" → "takeovers refused"). */
const LABELS: Record<string, string> = {
    devicesRefused: "new devices ignored: registry full",
    failedLogins: "failed logins",
    lockedOut: "logins refused: address locked out",
    slowedDown: "logins slowed down: user name guessed at",
    busy: "logins refused: too many waiting",
    takeoversRefused: "sessions refused: client id of another user",
    kicked: "sessions closed: user changed",
    deniedPublishes: "publishes denied by the rules",
    deniedSubscribes: "subscriptions denied",
    deniedDeliveries: "deliveries withheld",
    rateLimited: "publishes over the rate limit",
    oversizedPackets: "connections cut off: oversized packet",
    refusedPerAddress: "connections refused: too many from one address",
    refusedTotal: "connections refused: too many not logged in",
    timedOut: "connections closed: no login in time",
    liveStreamsRefused: "live streams refused",
    requestsRateLimited: "HTTP requests over the rate limit",
}

/** Counters that are not about refusals: shown elsewhere or not at all. */
const NOT_REFUSALS = new Set([
    "received",
    "commandsSent",
    "commandsFailed",
    "acksSent",
    "acksFailed",
    "logins",
    "anonymousLogins",
    "passwordChecks",
    "liveStreams",
    // the devices' configs: sends are not refusals, and the version is no counter (it would be summed)
    "configsSent",
    "configsFailed",
    "configVersion",
])

export function counterLabel(name: string): string {
    return LABELS[name] ?? name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase()
}

/** The refusal counters of a StatsResponse, in order: [label, count]. */
export function refusals(stats: StatsResponse): [string, number][] {
    const rows: [string, number][] = []
    for (const part of [stats.server, stats.broker ?? {}, stats.http])
        for (const [name, count] of Object.entries(part))
            if (!NOT_REFUSALS.has(name) && typeof count === "number") rows.push([counterLabel(name), count])
    for (const [reason, count] of Object.entries(stats.rejected)) rows.push([`readings rejected: ${reason}`, count])
    return rows
}
