/** Answers and their headers; the CSP keeps everything to 'self', so no inline script can ever run. */
import type { ServerResponse } from "node:http"
import type { FastifyReply } from "fastify"
import type { ApiError } from "./api-types"

export const CONTENT_SECURITY_POLICY = [
    "default-src 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
].join("; ")

export const SECURITY_HEADERS: Record<string, string> = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

export const JSON_TYPE = "application/json; charset=utf-8"

/** API answers are live state: never reuse one. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
    const body = JSON.stringify(value)
    res.writeHead(status, {
        ...SECURITY_HEADERS,
        "Content-Type": JSON_TYPE,
        "Content-Length": Buffer.byteLength(body),
        "Cache-Control": "no-store",
        ...headers,
    })
    res.end(body)
}

export function sendError(
    res: ServerResponse,
    status: number,
    error: string,
    field?: string,
    headers: Record<string, string> = {}
) {
    const body: ApiError = field === undefined ? { error } : { error, field }
    sendJson(res, status, body, headers)
}

/** sendJson, through fastify (which sets Content-Length, and sends no body to HEAD). */
export function replyJson(reply: FastifyReply, status: number, value: unknown, headers: Record<string, string> = {}) {
    return reply
        .code(status)
        .headers({ ...SECURITY_HEADERS, "Content-Type": JSON_TYPE, "Cache-Control": "no-store", ...headers })
        .send(JSON.stringify(value))
}

export function replyError(
    reply: FastifyReply,
    status: number,
    error: string,
    field?: string,
    headers: Record<string, string> = {}
) {
    const body: ApiError = field === undefined ? { error } : { error, field }
    return replyJson(reply, status, body, headers)
}
