/**
 * The dashboard's entry point (bundled by the server with esbuild, served as /app.js): one store fed by
 * the fleet view of the live stream, the watch that tells the stream which devices the page shows, and
 * the views, picked by the URL's hash (web/route.ts): the fleet, or one device's page.
 */
import { DeviceConfigForm } from "./device-config-form"
import { DevicePage } from "./device-page"
import { byTestId, setData, setText } from "./dom"
import { FleetView } from "./fleet-view"
import { GroupList } from "./group-list"
import { HomeAssistantPanel } from "./home-assistant-panel"
import { LiveConnection, type LiveStatus } from "./live"
import { formatRoute, parseRoute, type Route } from "./route"
import { SettingsForm } from "./settings-form"
import { StatsPanel } from "./stats-panel"
import { Store } from "./store"
import { Watch } from "./watch"

const BADGE_TEXT: Record<LiveStatus, string> = {
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
}

function main(): void {
    const store = new Store()
    const badge = byTestId(document, "live-badge")
    const live = new LiveConnection(
        "/api/events?view=fleet",
        event => store.apply(event),
        status => {
            setText(badge, BADGE_TEXT[status])
            setData(badge, "state", status)
            // The style sheet dims what may be out of date while the stream is away.
            setData(document.body, "live", status)
        }
    )
    const watch = new Watch(live, store)
    const devicePage = new DevicePage(document, store, watch)
    const fleet = new FleetView(document, store, watch, (route, replace) => navigate(route, replace))
    new GroupList(document, store, watch)
    new SettingsForm(document, store)
    new DeviceConfigForm(document, store)
    new HomeAssistantPanel(document)
    new StatsPanel(document).start()

    let shown = ""
    const show = (route: Route) => {
        const key = JSON.stringify(route)
        if (key === shown) return
        shown = key
        // The device page first: it claims its device in the watch list before the table lets go of it.
        devicePage.show(route.kind === "device" ? route.id : undefined)
        fleet.show(route.kind === "fleet" ? route : undefined)
    }
    /** A new place: a history entry (back returns), or in place of this one while typing a filter. */
    const navigate = (route: Route, replace = false) => {
        const hash = formatRoute(route)
        if (hash !== location.hash) {
            if (replace) history.replaceState(null, "", hash)
            else history.pushState(null, "", hash)
        }
        show(route)
    }
    const fromUrl = () => show(parseRoute(location.hash))
    window.addEventListener("hashchange", fromUrl)
    window.addEventListener("popstate", fromUrl)
    fromUrl()
    live.start()
}

main()
