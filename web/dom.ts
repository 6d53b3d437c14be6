/** Small DOM helpers, so the views read as markup and never put text in as HTML. */

type Attributes = Record<string, string | number | boolean | undefined>

/**
 * An element with attributes (`class` and `text` are shortcuts; false/undefined are left out) and
 * children. Text is always set as text: device ids and reasons come from the network.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    attributes: Attributes = {},
    children: (Node | string)[] = []
): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag)
    for (const [name, value] of Object.entries(attributes)) {
        if (value === undefined || value === false) continue
        if (name === "class") node.className = String(value)
        else if (name === "text") node.textContent = String(value)
        else node.setAttribute(name, value === true ? "" : String(value))
    }
    node.append(...children)
    return node
}

/** Sets text only when it changed (no needless layout work on every live event). */
export function setText(node: Element, text: string): void {
    if (node.textContent !== text) node.textContent = text
}

export function setData(node: HTMLElement, name: string, value: string): void {
    if (node.dataset[name] !== value) node.dataset[name] = value
}

/** The element matching `selector` inside `root`; a missing one is a bug in index.html. */
export function find<T extends Element = HTMLElement>(root: ParentNode, selector: string): T {
    const node = root.querySelector<T>(selector)
    if (!node) throw new Error(`the page has no ${selector}`)
    return node
}

export function byTestId<T extends Element = HTMLElement>(root: ParentNode, id: string): T {
    return find<T>(root, `[data-testid="${id}"]`)
}

/** Local wall-clock time of a timestamp, "—" when unknown. */
export function clockTime(ms: number | null): string {
    if (ms === null) return "—"
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
}

/** A duration in words: 90000 → "90 s", 600000 → "10 min". */
export function duration(ms: number): string {
    if (ms % 60_000 === 0) return `${ms / 60_000} min`
    return `${Math.round(ms / 100) / 10} s`
}

/** How long ago, in the largest whole unit: "now", "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(ms: number): string {
    const s = Math.floor(ms / 1000)
    if (s < 1) return "now"
    if (s < 60) return `${s} s ago`
    if (s < 3600) return `${Math.floor(s / 60)} min ago`
    if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
    return `${Math.floor(s / 86_400)} d ago`
}

/** A form's status line: what happened, coloured as an error when it is one. */
export function showStatus(node: HTMLElement, text: string, state: "ok" | "error" | "busy" = "ok"): void {
    setText(node, text)
    setData(node, "state", state)
}

/**
 * Returns a function that runs `render` once on the next animation frame, however often it is called
 * before then: live events come by the hundred, the screen needs one redraw.
 */
export function oncePerFrame(render: () => void): () => void {
    let pending = false
    return () => {
        if (pending) return
        pending = true
        requestAnimationFrame(() => {
            pending = false
            render()
        })
    }
}
