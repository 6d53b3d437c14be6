/** A fixed list of URL paths, so no request path reaches the file system; web/app.ts bundled on first request. */
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { join } from "node:path"
import { build } from "esbuild"
import { projectRoot } from "../util/project-root"

export interface StaticFile {
    body: Buffer
    contentType: string
    /** A strong validator: the browser revalidates (Cache-Control: no-cache) and usually gets a 304. */
    etag: string
}

type Source = { kind: "file"; path: string } | { kind: "bundle"; entry: string }

const WEB_DIR = join(projectRoot, "web") + "/"
const require = createRequire(import.meta.url)

const TYPES = {
    html: "text/html; charset=utf-8",
    js: "text/javascript; charset=utf-8",
    css: "text/css; charset=utf-8",
    svg: "image/svg+xml",
}

/** URL path → where it comes from and its Content-Type. Nothing else is served. */
const FILES: Record<string, { source: () => Source; contentType: string }> = {
    "/": { source: () => ({ kind: "file", path: `${WEB_DIR}index.html` }), contentType: TYPES.html },
    "/app.js": { source: () => ({ kind: "bundle", entry: `${WEB_DIR}app.ts` }), contentType: TYPES.js },
    "/style.css": { source: () => ({ kind: "file", path: `${WEB_DIR}style.css` }), contentType: TYPES.css },
    "/favicon.svg": { source: () => ({ kind: "file", path: `${WEB_DIR}favicon.svg` }), contentType: TYPES.svg },
    "/vendor/uPlot.iife.min.js": {
        source: () => ({ kind: "file", path: require.resolve("uplot/dist/uPlot.iife.min.js") }),
        contentType: TYPES.js,
    },
    "/vendor/uPlot.min.css": {
        source: () => ({ kind: "file", path: require.resolve("uplot/dist/uPlot.min.css") }),
        contentType: TYPES.css,
    },
}

export const STATIC_PATHS = Object.keys(FILES)

export class StaticFiles {
    /** Loaded once each; a failed load is not kept, so the next request tries again. */
    private readonly cache = new Map<string, Promise<StaticFile>>()

    get(urlPath: string): Promise<StaticFile> {
        const entry = FILES[urlPath]
        if (!entry) return Promise.reject(new Error(`not a static path: ${urlPath}`))
        let loading = this.cache.get(urlPath)
        if (!loading) {
            loading = load(entry.source(), entry.contentType)
            loading.catch(() => this.cache.delete(urlPath))
            this.cache.set(urlPath, loading)
        }
        return loading
    }
}

async function load(source: Source, contentType: string): Promise<StaticFile> {
    const body = source.kind === "file" ? await readFile(source.path) : await bundle(source.entry)
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`
    return { body, contentType, etag }
}

async function bundle(entry: string): Promise<Buffer> {
    const result = await build({
        entryPoints: [entry],
        bundle: true,
        write: false,
        format: "esm",
        target: "es2020",
        platform: "browser",
        charset: "utf8",
        legalComments: "none",
        logLevel: "silent",
    })
    const output = result.outputFiles[0]
    if (!output) throw new Error(`esbuild produced nothing for ${entry}`)
    return Buffer.from(output.contents)
}
