/**
 * Beyond loopback a request carries the token: a Bearer header, or the cookie the printed link sets.
 * EventSource cannot send headers, so the page relies on the cookie.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { mkdir, readFile } from "node:fs/promises"
import { dirname } from "node:path"
import type { IncomingMessage, ServerResponse } from "node:http"
import { writeSecretFile } from "../util/secret-file"
import { SECURITY_HEADERS, sendError } from "./responses"

export const COOKIE_NAME = "nightlight_token"
/** Bytes of randomness in a generated token (base64url: 43 characters). */
const TOKEN_BYTES = 32

export function generateToken(): string {
    return randomBytes(TOKEN_BYTES).toString("base64url")
}

/** Kept (0600) so a bookmarked link survives restarts; delete the file for a new one. */
export async function loadOrCreateToken(file: string): Promise<{ token: string; created: boolean }> {
    try {
        const token = (await readFile(file, "utf8")).trim()
        if (token.length >= 16) return { token, created: false }
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err
    }
    const token = generateToken()
    await mkdir(dirname(file), { recursive: true })
    await writeSecretFile(file, `${token}\n`)
    return { token, created: true }
}

/** Compares in constant time, whatever the lengths (hashes first). */
function sameSecret(a: string, b: string): boolean {
    const digest = (s: string) => createHash("sha256").update(s).digest()
    return timingSafeEqual(digest(a), digest(b))
}

function cookieToken(req: IncomingMessage): string | undefined {
    for (const part of (req.headers.cookie ?? "").split(";")) {
        const [name, ...value] = part.trim().split("=")
        if (name === COOKIE_NAME) return decodeURIComponent(value.join("="))
    }
    return undefined
}

function bearerToken(req: IncomingMessage): string | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")
    return match?.[1]
}

/** No token: everything is allowed. */
export class Access {
    constructor(private readonly token: string | undefined) {}

    get required(): boolean {
        return this.token !== undefined
    }

    /** False: answered already (a redirect setting the cookie, or 401). */
    admit(req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): boolean {
        const token = this.token
        if (token === undefined) return true
        const offered = query.get("token")
        if (offered !== null && req.method === "GET" && sameSecret(offered, token)) {
            query.delete("token")
            const rest = query.toString()
            res.writeHead(303, {
                ...SECURITY_HEADERS,
                "Set-Cookie": `${COOKIE_NAME}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
                Location: `${pathname}${rest ? `?${rest}` : ""}`,
                "Cache-Control": "no-store",
            })
            res.end()
            return false
        }
        const presented = bearerToken(req) ?? cookieToken(req)
        if (presented !== undefined && sameSecret(presented, token)) return true
        const why =
            presented === undefined
                ? "this dashboard needs its access token"
                : "the access token is not right (it changes when the server's token file is replaced)"
        if (pathname.startsWith("/api/")) {
            sendError(
                res,
                401,
                `${why}: send "Authorization: Bearer <token>", or open the link the server printed`,
                undefined,
                {
                    "WWW-Authenticate": 'Bearer realm="nightlight"',
                }
            )
        } else {
            res.writeHead(401, {
                ...SECURITY_HEADERS,
                "Content-Type": "text/html; charset=utf-8",
                "Cache-Control": "no-store",
            })
            res.end(loginPage(why))
        }
        return false
    }
}

function loginPage(why: string): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nightlight: access token</title></head>
<body>
<h1>Nightlight</h1>
<p>${why}. The server prints a link with it when it starts, and keeps it in its data folder
(<code>http-token</code>).</p>
<form method="get" action="/"><label>Access token <input name="token" type="password" autocomplete="current-password" required></label>
<button type="submit">Open the dashboard</button></form>
</body></html>`
}
