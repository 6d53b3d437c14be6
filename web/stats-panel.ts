/**
 * The "Refused and limited" panel: what the server turned away since it started, from GET /api/stats.
 * Every counter the API sends is shown, known ones in words, others by their name, so a counter added
 * on the server appears here without a change.
 */
import type { StatsResponse } from "../server/http/api-types"
import { getStats } from "./api"
import { refusals } from "./refusals"
import { byTestId, el, setText } from "./dom"

/** ms between two refreshes: counters, not a live view. */
const REFRESH_MS = 10_000

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
