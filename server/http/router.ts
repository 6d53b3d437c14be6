/**
 * Matching a request to a route: fixed segments and `:param` segments, nothing else (no wildcards, no
 * normalisation of `..`), so only the listed paths ever reach a handler. Pure: no I/O.
 */
import { ApiProblem } from "./api-types"

export type Method = "GET" | "PATCH" | "PUT" | "DELETE"

export interface Route<H> {
    method: Method
    /** e.g. "/api/devices/:id/history" */
    path: string
    handler: H
}

export type RouteMatch<H> =
    | { kind: "found"; route: Route<H>; params: Record<string, string> }
    /** The path exists, the method does not: answer 405 with these in `Allow`. */
    | { kind: "wrong-method"; allow: string[] }
    | { kind: "not-found" }

/** A compiled route table; build once, match per request. */
export class Router<H> {
    private readonly compiled: { route: Route<H>; segments: string[] }[]

    constructor(routes: Route<H>[]) {
        this.compiled = routes.map(route => ({ route, segments: route.path.split("/") }))
    }

    /**
     * `pathname` is the raw path of the request (before `?`, still percent-encoded). HEAD matches GET
     * routes (Node sends no body for HEAD). A param that does not percent-decode is a 400 naming it.
     */
    match(method: string, pathname: string): RouteMatch<H> {
        const parts = pathname.split("/")
        const allow = new Set<string>()
        for (const { route, segments } of this.compiled) {
            const raw = matchSegments(segments, parts)
            if (!raw) continue
            if (route.method === method || (method === "HEAD" && route.method === "GET"))
                return { kind: "found", route, params: decodeParams(raw) }
            allow.add(route.method)
            if (route.method === "GET") allow.add("HEAD")
        }
        return allow.size > 0 ? { kind: "wrong-method", allow: [...allow] } : { kind: "not-found" }
    }
}

function matchSegments(segments: string[], parts: string[]): Record<string, string> | undefined {
    if (segments.length !== parts.length) return undefined
    const params: Record<string, string> = {}
    for (let i = 0; i < segments.length; i++) {
        const segment = segments[i]
        if (segment.startsWith(":")) {
            if (parts[i] === "") return undefined
            params[segment.slice(1)] = parts[i]
        } else if (segment !== parts[i]) return undefined
    }
    return params
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
    const params: Record<string, string> = {}
    for (const [name, value] of Object.entries(raw)) {
        try {
            params[name] = decodeURIComponent(value)
        } catch {
            throw new ApiProblem(400, `${name} is not valid percent-encoding`, name)
        }
    }
    return params
}
