/**
 * The dashboard's entry point (bundled by the server with esbuild, served as /app.js): one store fed by
 * the live stream, and the views that read it.
 */
import { DeviceList } from "./device-list"
import { byTestId, setData, setText } from "./dom"
import { GroupList } from "./group-list"
import { HomeAssistantPanel } from "./home-assistant-panel"
import { LiveConnection, type LiveStatus } from "./live"
import { SettingsForm } from "./settings-form"
import { StatsPanel } from "./stats-panel"
import { Store } from "./store"

const BADGE_TEXT: Record<LiveStatus, string> = {
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
}

function main(): void {
    const store = new Store()
    new DeviceList(document, store)
    new GroupList(document, store)
    new SettingsForm(document, store)
    new HomeAssistantPanel(document)
    new StatsPanel(document).start()
    const badge = byTestId(document, "live-badge")
    const live = new LiveConnection(
        "/api/events",
        event => store.apply(event),
        status => {
            setText(badge, BADGE_TEXT[status])
            setData(badge, "state", status)
            // The style sheet dims what may be out of date while the stream is away.
            setData(document.body, "live", status)
        }
    )
    live.start()
}

main()
