/**
 * Reading a JSON request body with the limits the API promises: Content-Type application/json (415),
 * at most `maxBytes` (413, counted while reading, so a lying or chunked client cannot make us buffer
 * more), UTF-8 and JSON (400).
 */
import type { IncomingMessage } from "node:http"
import { ApiProblem } from "./api-types"

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
    const type = req.headers["content-type"]
    if (!isJsonType(type))
        throw new ApiProblem(415, `Content-Type must be application/json (got ${type ? `"${type}"` : "none"})`)
    const bytes = await readAtMost(req, maxBytes)
    let text: string
    try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
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

/**
 * A body somewhat over the limit is read to its end and thrown away before we answer 413: closing a
 * socket with unread data makes the kernel reset the connection, and the client would see a reset
 * instead of our answer. Beyond this many bytes we stop reading and let the connection go.
 */
const DRAIN_MAX_BYTES = 1024 * 1024

function readAtMost(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
    const tooLarge = () => new ApiProblem(413, `the body is larger than ${maxBytes} bytes`)
    if (Number(req.headers["content-length"]) > DRAIN_MAX_BYTES) return Promise.reject(tooLarge())
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = []
        let size = 0
        const cleanup = () => {
            req.off("data", onData)
            req.off("end", onEnd)
            req.off("error", onError)
        }
        const onData = (chunk: Buffer) => {
            size += chunk.length
            if (size > DRAIN_MAX_BYTES) {
                cleanup()
                req.pause()
                reject(tooLarge())
            } else if (size <= maxBytes) chunks.push(chunk)
        }
        const onEnd = () => {
            cleanup()
            if (size > maxBytes) reject(tooLarge())
            else resolve(Buffer.concat(chunks))
        }
        const onError = (error: Error) => {
            cleanup()
            reject(error)
        }
        req.on("data", onData)
        req.on("end", onEnd)
        req.on("error", onError)
    })
}
