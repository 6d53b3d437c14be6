/**
 * The page bench's watcher inside the dashboard (page-bench.ts adds it as an init script, so it runs
 * before the page's own scripts): when the first useful screen showed, and each light value the probe
 * device's row or card showed, and when. It reads the markup of both the card page and the table page
 * (whichever elements exist) and touches nothing. Results stay in `window.__pageBench` for the bench.
 */
import type { WatchConfig, WatchState } from "../page-watch-types"

declare global {
    interface Window {
        __pageBench?: WatchState
    }
}

/** The fleet's size as the new page (`fleet-total`'s data-count) or the old one ("(N)" after the title) says. */
function showsFleetSize(devices: number): boolean {
    const total = document.querySelector('[data-testid="fleet-total"]')
    if (total?.getAttribute("data-count") === String(devices)) return true
    return document.querySelector('[data-testid="device-count"]')?.textContent?.trim() === `(${devices})`
}

function showsADevice(): boolean {
    return document.querySelector('[data-testid="device-row"], [data-testid="device-card"]') !== null
}

const LIGHT = '[data-testid="row-light"], [data-testid="device-light"]'
/** rows or cards read for the probe's id, where they carry no data-device-id (a screenful and more) */
const MAX_ROWS_SEARCHED = 200

/** The probe's light element: by its id attribute where the row or card has one, else by its text. */
function probeLight(probe: string): Element | null {
    const byId = document.querySelector(`[data-device-id="${CSS.escape(probe)}"]`)?.querySelector(LIGHT)
    if (byId) return byId
    // the probe sorts first: in id order it is the first row, but the page may sort otherwise
    const holders = document.querySelectorAll('[data-testid="device-row"], [data-testid="device-card"]')
    for (let i = 0; i < Math.min(holders.length, MAX_ROWS_SEARCHED); i++)
        if (holders[i].textContent?.includes(probe)) return holders[i].querySelector(LIGHT)
    return null
}

export function startWatch(config: WatchConfig): void {
    const state: WatchState = { usefulDomAt: null, usefulAt: null, shown: [] }
    window.__pageBench = state
    const lookForProbe = watchProbe(config, state)
    // the value on the first useful screen is recorded then, not at the next frame or tick, which
    // may come after the page has already changed it
    watchFirstUsefulScreen(config, state, lookForProbe)
}

/**
 * Checked after every change to the document until it holds; the time taken is that of a task posted
 * then, which runs once the current frame (the page renders its cards in one) has been laid out and
 * painted. A slow timer looks too, in case no change is observed.
 */
function watchFirstUsefulScreen(config: WatchConfig, state: WatchState, onUseful: () => void): void {
    const shows = () => showsFleetSize(config.devices) && showsADevice()
    const channel = new MessageChannel()
    let posted = false
    const done = () => {
        if (state.usefulAt !== null) return
        state.usefulAt = performance.now()
        state.usefulDomAt ??= state.usefulAt
        observer.disconnect()
        clearInterval(timer)
        onUseful()
    }
    channel.port1.onmessage = done
    const observer = new MutationObserver(() => {
        if (posted || !shows()) return
        posted = true
        state.usefulDomAt = performance.now()
        channel.port2.postMessage(null)
    })
    const options = { childList: true, subtree: true, characterData: true, attributeFilter: ["data-count"] }
    observer.observe(document, options)
    const timer = setInterval(() => {
        if (shows()) done()
    }, 100)
}

/**
 * Each light value the probe showed: a MutationObserver on its light element gives the time of each
 * change; the element may be replaced (a recycled row), so each frame, and a slow timer, look for it again.
 */
function watchProbe(config: WatchConfig, state: WatchState): () => void {
    let watched: Element | null = null
    let lastText: string | null = null
    const record = () => {
        const text = watched?.textContent ?? null
        if (text === lastText) return
        lastText = text
        const value = Number(/\d+/.exec(text ?? "")?.[0])
        if (Number.isFinite(value)) state.shown.push({ value, at: performance.timeOrigin + performance.now() })
    }
    const observer = new MutationObserver(record)
    const look = () => {
        if (state.usefulAt === null) return
        const light = probeLight(config.probe)
        if (light !== watched) {
            observer.disconnect()
            watched = light
            if (light) observer.observe(light, { childList: true, characterData: true, subtree: true })
        }
        record()
    }
    const frame = () => {
        look()
        requestAnimationFrame(frame)
    }
    requestAnimationFrame(frame)
    setInterval(look, 100)
    return look
}
