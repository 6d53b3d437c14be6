/** The raw (percent-encoded) path, as the access check and log see it; fastify routes on the decoded one. */
import { printable } from "../util/logger"
import { ApiProblem } from "./api-types"

export function splitTarget(target = "/"): { pathname: string; query: URLSearchParams } {
    const queryAt = target.indexOf("?")
    return {
        pathname: queryAt < 0 ? target : target.slice(0, queryAt),
        query: new URLSearchParams(queryAt < 0 ? "" : target.slice(queryAt + 1)),
    }
}

export function notFound(pathname: string): ApiProblem {
    return new ApiProblem(404, `no such resource: ${printable(pathname, 100)}`)
}

/**
 * Which `:param` of a route shaped like `pathname` does not percent-decode, if any: fastify only says
 * the URL is bad, and the API's answer names the field.
 */
export function undecodableParam(pathname: string, routePaths: string[]): string | undefined {
    const parts = pathname.split("/")
    for (const path of routePaths) {
        const segments = path.split("/")
        if (segments.length !== parts.length) continue
        if (segments.some((segment, i) => !segment.startsWith(":") && segment !== parts[i])) continue
        for (let i = 0; i < segments.length; i++) {
            if (!segments[i].startsWith(":")) continue
            try {
                decodeURIComponent(parts[i])
            } catch {
                return segments[i].slice(1)
            }
        }
    }
    return undefined
}
