/** An error into an answer: ApiProblems and fastify's refusals as theirs, anything else a logged 500. */
import type { FastifyReply, FastifyRequest } from "fastify"
import { printable, type Logger } from "../util/logger"
import { ApiProblem } from "./api-types"
import { replyError } from "./responses"

export function answerError(
    log: Logger,
    request: FastifyRequest,
    reply: FastifyReply,
    error: unknown
): FastifyReply | undefined {
    const { raw: req } = request
    const res = reply.raw
    if (res.destroyed || req.socket.destroyed) {
        // The client went away (e.g. aborted while sending its body): nobody to answer, nothing wrong here.
        log.debug(`${req.method} ${printable(req.url ?? "")}: the client went away (${String(error)})`)
        reply.hijack()
        return undefined
    }
    if (res.headersSent) {
        // Too late for a status: cut the connection so the client sees a failure, not a short body.
        log.error({ err: error }, `${req.method} ${printable(req.url ?? "")} failed after answering`)
        reply.hijack()
        res.destroy()
        return undefined
    }
    // Unread body (413, or an early 4xx on a body route): close instead of reading it for keep-alive.
    // (A request without a body may not be `complete` yet when answered at once: nothing to read there.)
    const hasBody = req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"]) > 0
    const headers: Record<string, string> = hasBody && !req.complete ? { Connection: "close" } : {}
    if (error instanceof ApiProblem && error.status >= 400 && error.status <= 599)
        return replyError(reply, error.status, error.message, error.field, headers)
    const code = (error as { code?: unknown }).code
    if (code === "FST_ERR_CTP_BODY_TOO_LARGE")
        return replyError(
            reply,
            413,
            `the body is larger than ${request.routeOptions.bodyLimit} bytes`,
            undefined,
            headers
        )
    const status = (error as { statusCode?: unknown }).statusCode
    if (typeof status === "number" && status >= 400 && status <= 499)
        // fastify's own refusals of a request (e.g. a body shorter than its Content-Length)
        return replyError(reply, status, (error as Error).message, undefined, headers)
    log.error({ err: error }, `${req.method} ${printable(req.url ?? "")} failed`)
    return replyError(reply, 500, "internal error; the server log has the details")
}
