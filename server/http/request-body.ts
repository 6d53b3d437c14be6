/** A JSON body: application/json (415), UTF-8 and JSON (400); fastify enforced the size limit (413). */
import { ApiProblem } from "./api-types"

/** `bytes` is undefined when the request had no body. */
export function parseJsonBody(contentType: string | undefined, bytes: Buffer | undefined): unknown {
    if (!isJsonType(contentType))
        throw new ApiProblem(
            415,
            `Content-Type must be application/json (got ${contentType ? `"${contentType}"` : "none"})`
        )
    let text: string
    try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes ?? new Uint8Array())
    } catch {
        throw new ApiProblem(400, "the body is not valid UTF-8")
    }
    try {
        return JSON.parse(text)
    } catch (error) {
        throw new ApiProblem(400, `the body is not valid JSON: ${(error as Error).message}`)
    }
}

/** `application/json`, optionally with `charset=utf-8`; any other charset is not something we decode. */
function isJsonType(type: string | undefined): boolean {
    if (!type) return false
    const [mediaType, ...parameters] = type.split(";").map(part => part.trim().toLowerCase())
    if (mediaType !== "application/json") return false
    return parameters.every(parameter => !parameter.startsWith("charset=") || /^charset="?utf-8"?$/.test(parameter))
}
