/**
 * The "Refused and limited" panel: what the server turned away since it started, from GET /api/stats.
 * Every counter the API sends is shown, known ones in words, others by their name, so a counter added
 * on the server appears here without a change.
 */
import type { StatsResponse } from "../server/http/api-types"
import { getStats } from "./api"
import { byTestId, el, setText } from "./dom"

/** ms between two refreshes: counters, not a live view. */
const REFRESH_MS = 10_000

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

export class StatsPanel {
    private readonly table: HTMLElement
    private readonly status: HTMLElement

    constructor(root: ParentNode) {
        this.table = byTestId(root, "stats-table")
        this.status = byTestId(root, "stats-status")
    }

    start(): void {
        void this.refresh()
        window.setInterval(() => void this.refresh(), REFRESH_MS)
    }

    private async refresh(): Promise<void> {
        let stats: StatsResponse
        try {
            stats = await getStats()
        } catch (error) {
            setText(this.status, `counters unavailable: ${(error as Error).message}`)
            return
        }
        const list = refusals(stats)
        const rows = list.map(([label, count]) =>
            el("tr", { class: count > 0 ? "nonzero" : undefined, "data-counter": label }, [
                el("th", { scope: "row", text: label }),
                el("td", { text: count.toLocaleString() }),
            ])
        )
        this.table.replaceChildren(...rows)
        const total = list.reduce((sum, [, count]) => sum + count, 0)
        setText(
            this.status,
            total === 0 ? "nothing refused since the start" : `${total.toLocaleString()} in all since the start`
        )
    }
}
