/**
 * The dashboard and HTTP API on fastify. No cross-site changes: every body must be application/json and
 * PUT/DELETE are not "simple", so another origin needs a CORS preflight, and we answer none.
 */
import { METHODS, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify"
import { ApiProblem, MAX_WATCHED_DEVICES, type ApiBackend, type LiveEvent, type WatchResponse } from "./api-types"
import { printable, type Logger } from "../util/logger"
import { RateLimiter } from "../util/rate-limit"
import { Access } from "./access"
import { ANSWERED, apiRoutes, type ApiRequest, type Handler, type Route } from "./api-routes"
import { FleetStreams, STREAM_ID_PATTERN } from "./fleet-streams"
import { LIVE_STREAM_DEFAULTS, LiveStream, type LiveStreamOptions } from "./live-stream"
import { parseJsonBody } from "./request-body"
import { answerError } from "./error-answer"
import { notFound, splitTarget, undecodableParam } from "./request-target"
import { replyError, replyJson, SECURITY_HEADERS } from "./responses"
import { LiveStreamCap, MAX_LIVE_STREAMS } from "./live-stream-cap"
import { STATIC_PATHS, StaticFiles } from "./static-files"
import { liveQuerySchema, noQuerySchema, parseBody, parseQuery, watchRequestSchema } from "./validation"
import { MAX_DEVICE_ID_LENGTH } from "../protocol/contract"

export const HTTP_DEFAULTS = {
    /** bytes */
    maxBodyBytes: 16 * 1024,
    /**
     * Requests per second per client address, and the burst: opening the dashboard costs about ten,
     * the light slider five a second at most (its requests are 150 ms apart).
     */
    requestsPerSecond: 20,
    requestBurst: 200,
    /** ms stop() lets requests in flight finish before it closes their connections. */
    closeGraceMs: 1000,
    /** Live streams (`/api/events`) open at once; why 100: live-stream-cap.ts. */
    maxLiveStreams: MAX_LIVE_STREAMS,
    /** bytes: a watch list of the most ids, each as long as ids get, quoted, with room for spaces. */
    maxWatchBodyBytes: MAX_WATCHED_DEVICES * (MAX_DEVICE_ID_LENGTH + 8) + 1024,
}

export interface HttpStats {
    liveStreams: number
    liveStreamsRefused: number
    requestsRateLimited: number
}

export interface HttpServerOptions {
    backend: ApiBackend
    host: string
    /** 0 picks a free port; `url` tells the one bound. */
    port: number
    logger: Logger
    /** The clock for history's default range (ms); Date.now by default. */
    clock?: () => number
    liveStream?: Partial<LiveStreamOptions>
    /** Required of every request when set (access.ts); the server sets one when exposed beyond loopback. */
    token?: string
}

export class HttpStartError extends Error {
    override name = "HttpStartError"
}

/** Node refuses request heads over 16 KB, so no path param is longer. */
const MAX_TARGET_CHARS = 16 * 1024

/** Every method Node parses (CONNECT has its own event): a path answers 405 to those it does not serve. */
const ROUTED_METHODS = METHODS.filter(method => method !== "CONNECT")

export class HttpServer {
    private readonly backend: ApiBackend
    private readonly log: Logger
    private readonly routes: Route<Handler>[]
    private readonly files = new StaticFiles()
    private readonly streams = new Set<LiveStream>()
    /** Open sockets and how many requests each is answering: stop() closes the idle ones at once. */
    private readonly sockets = new Map<Socket, number>()
    private readonly streamOptions: LiveStreamOptions
    private readonly access: Access
    private readonly limiter = new RateLimiter({
        ratePerSecond: HTTP_DEFAULTS.requestsPerSecond,
        burst: HTTP_DEFAULTS.requestBurst,
    })
    private server?: Server
    private boundPort?: number
    private readonly streamCap: LiveStreamCap
    private readonly fleetStreams: FleetStreams

    constructor(private readonly options: HttpServerOptions) {
        this.backend = options.backend
        this.log = options.logger.child({ component: "http" })
        this.streamOptions = { ...LIVE_STREAM_DEFAULTS, ...options.liveStream }
        this.access = new Access(options.token)
        this.streamCap = new LiveStreamCap(HTTP_DEFAULTS.maxLiveStreams, this.log)
        this.fleetStreams = new FleetStreams(this.backend, options.clock ?? Date.now)
        this.routes = [
            ...apiRoutes(this.backend, options.clock ?? Date.now, () => ({ ...this.stats() })),
            { method: "GET", path: "/api/events", handler: request => this.openStream(request) },
            {
                method: "PUT",
                path: "/api/events/:stream/watch",
                handler: request => this.watch(request),
                bodyLimit: HTTP_DEFAULTS.maxWatchBodyBytes,
            },
            ...STATIC_PATHS.map(path => ({
                method: "GET" as const,
                path,
                handler: ({ req, res }: { req: IncomingMessage; res: ServerResponse }) =>
                    this.serveFile(path, req, res),
            })),
        ]
    }

    get loginUrl(): string {
        return this.options.token === undefined
            ? this.url
            : `${this.url}/?token=${encodeURIComponent(this.options.token)}`
    }

    /** e.g. http://127.0.0.1:8080; a wildcard listen address is reached through loopback. */
    get url(): string {
        if (this.boundPort === undefined) throw new Error("the HTTP server is not started")
        const { host } = this.options
        const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host
        return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${this.boundPort}`
    }

    async start(): Promise<void> {
        if (this.server) throw new Error("the HTTP server is already started")
        let server: Server | undefined
        const app = this.createApp(handler => {
            // Node's own server and its timeouts; we listen and close it ourselves (stop()).
            server = createServer(handler)
            server.on("connection", (socket: Socket) => {
                this.sockets.set(socket, 0)
                socket.once("close", () => this.sockets.delete(socket))
            })
            return server
        })
        if (!server) throw new Error("fastify made no server")
        // Node's answer to a request it cannot parse (400 and close, no body), not fastify's JSON.
        server.removeAllListeners("clientError")
        await app.ready()
        const { host, port } = this.options
        try {
            await new Promise<void>((resolve, reject) => {
                server!.once("error", reject)
                server!.listen(port, host, () => {
                    server!.off("error", reject)
                    resolve()
                })
            })
        } catch (error) {
            throw new HttpStartError(describeListenError(error, host, port))
        }
        this.server = server
        const address = server.address()
        this.boundPort = typeof address === "object" && address ? address.port : port
        this.log.debug(`listening on ${this.url}`)
    }

    /**
     * Ends the live streams, stops listening, closes idle sockets now (keep-alive ones, and ones a client
     * opened ahead and never used, which Node's closeIdleConnections leaves) and busy ones after a grace.
     */
    async stop(): Promise<void> {
        const server = this.server
        this.server = undefined
        if (!server) return
        for (const stream of this.streams) stream.close()
        this.streams.clear()
        this.fleetStreams.stop()
        const closed = new Promise<void>(resolve => server.close(() => resolve()))
        server.closeIdleConnections()
        for (const [socket, requests] of this.sockets) if (requests === 0) socket.destroy()
        const force = setTimeout(() => server.closeAllConnections(), HTTP_DEFAULTS.closeGraceMs)
        await closed
        clearTimeout(force)
    }

    private createApp(serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => Server) {
        const app: FastifyInstance = Fastify({
            serverFactory,
            logger: false,
            bodyLimit: HTTP_DEFAULTS.maxBodyBytes,
            // Long enough for any id the API would take, so a long one is a 400 naming it, not a 404.
            routerOptions: { maxParamLength: MAX_TARGET_CHARS },
            // A param that does not percent-decode: a 400 naming it.
            frameworkErrors: (error, request, reply) => {
                if (!this.admit(request, reply)) return
                const { pathname } = splitTarget(request.raw.url)
                const paths = this.routes.map(route => route.path)
                const name = error.code === "FST_ERR_BAD_URL" ? undecodableParam(pathname, paths) : undefined
                const problem =
                    name === undefined
                        ? notFound(pathname)
                        : new ApiProblem(400, `${name} is not valid percent-encoding`, name)
                answerError(this.log, request, reply, problem)
            },
        })
        for (const method of ROUTED_METHODS) if (!app.supportedMethods.includes(method)) app.addHttpMethod(method)
        // Every body is read as bytes within bodyLimit; the handler that wants one checks its type (415).
        app.removeAllContentTypeParsers()
        app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body))
        app.addHook("onRequest", async (request, reply) => {
            if (!this.admit(request, reply)) return reply
        })
        app.setNotFoundHandler(request => {
            throw notFound(splitTarget(request.raw.url).pathname)
        })
        app.setErrorHandler((error, request, reply) => answerError(this.log, request, reply, error))
        const methods = new Map<string, string[]>()
        for (const route of this.routes) {
            app.route({
                method: route.method,
                url: route.path,
                bodyLimit: route.bodyLimit,
                handler: (request, reply) => this.answer(route.handler, request, reply),
            })
            const allow = methods.get(route.path) ?? []
            allow.push(route.method, ...(route.method === "GET" ? ["HEAD"] : []))
            methods.set(route.path, allow)
        }
        for (const [path, allow] of methods) {
            const header = allow.join(", ")
            app.route({
                method: ROUTED_METHODS.filter(method => !allow.includes(method)),
                url: path,
                handler: (request, reply) =>
                    replyError(reply, 405, `${request.method} is not allowed here; use ${header}`, undefined, {
                        Allow: header,
                    }),
            })
        }
        return app
    }

    /** False when the request has been answered here. */
    private admit(request: FastifyRequest, reply: FastifyReply): boolean {
        const { raw: req } = request
        const res = reply.raw
        const socket = req.socket
        this.sockets.set(socket, (this.sockets.get(socket) ?? 0) + 1)
        res.once("close", () => {
            const requests = this.sockets.get(socket)
            if (requests !== undefined) this.sockets.set(socket, requests - 1)
            this.log.debug(`${req.method} ${printable(req.url ?? "")} → ${res.statusCode}`)
        })
        if (!this.limiter.take(socket.remoteAddress ?? "?")) {
            replyError(reply, 429, "too many requests from this address; slow down", undefined, {
                "Retry-After": "1",
            })
            return false
        }
        if (!req.url?.startsWith("/")) {
            // "*" and absolute targets ("http://host/api/..."): no route of ours, as before fastify.
            answerError(this.log, request, reply, notFound(req.url ?? ""))
            return false
        }
        const { pathname, query } = splitTarget(req.url)
        if (this.access.admit(req, res, pathname, query)) return true
        reply.hijack()
        return false
    }

    private async answer(handler: Handler, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
        const { pathname, query } = splitTarget(request.raw.url)
        const params = request.params as Record<string, string>
        if (Object.values(params).includes("")) throw notFound(pathname)
        const body = async () => parseJsonBody(request.headers["content-type"], request.body as Buffer | undefined)
        const answer = await handler({ params, query, req: request.raw, res: reply.raw, body })
        if (answer === ANSWERED) {
            reply.hijack()
            return reply
        }
        return replyJson(reply, 200, answer)
    }

    private async serveFile(path: string, req: IncomingMessage, res: ServerResponse): Promise<typeof ANSWERED> {
        const file = await this.files.get(path)
        const headers = {
            ...SECURITY_HEADERS,
            "Content-Type": file.contentType,
            "Cache-Control": "no-cache",
            ETag: file.etag,
        }
        if (req.headers["if-none-match"] === file.etag) {
            res.writeHead(304, headers)
            res.end()
        } else {
            res.writeHead(200, { ...headers, "Content-Length": file.body.length })
            res.end(file.body)
        }
        return ANSWERED
    }

    stats(): HttpStats {
        return {
            liveStreams: this.streams.size,
            liveStreamsRefused: this.streamCap.refused,
            requestsRateLimited: this.limiter.refused,
        }
    }

    private openStream({ req, res, query }: ApiRequest): typeof ANSWERED {
        const { view } = parseQuery(liveQuerySchema, query)
        if (!this.streamCap.admit(this.streams.size, req, res)) return ANSWERED
        // State first: if the backend throws, the client still gets a proper 500.
        const fleet = view === "fleet"
        const summary = fleet ? this.fleetStreams.summary() : undefined
        const hello: LiveEvent & { type: "hello" } = {
            type: "hello",
            devices: fleet ? [] : this.backend.devices(),
            groups: this.backend.groups(),
            settings: this.backend.settings(),
        }
        res.writeHead(200, {
            ...SECURITY_HEADERS,
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            // Once the stream ends (stop(), a dropped client) the socket goes too: nothing else waits on it.
            Connection: "close",
            // Tells nginx-style proxies not to buffer the stream.
            "X-Accel-Buffering": "no",
        })
        if (req.method === "HEAD") {
            res.end()
            return ANSWERED
        }
        req.socket.setNoDelay(true)
        const stream = new LiveStream(res, this.streamOptions, why =>
            this.log.warn(`live stream to ${req.socket.remoteAddress}:${req.socket.remotePort} dropped: ${why}`)
        )
        this.streams.add(stream)
        const watched = summary && this.fleetStreams.add(stream, summary)
        stream.start(watched ? { ...hello, summary, stream: watched.id } : hello)
        let unsubscribe: () => void = () => undefined
        res.once("close", () => {
            unsubscribe()
            this.streams.delete(stream)
            if (watched) this.fleetStreams.remove(watched.id)
            stream.close()
        })
        try {
            unsubscribe = this.backend.subscribe(event => stream.push(event), watched?.wants)
        } catch (error) {
            this.log.error({ err: error }, "subscribing a live stream failed")
            stream.close()
        }
        return ANSWERED
    }

    /** Ids that are not a stream's shape are as unknown as closed ones: 404 either way. */
    private async watch({ params, query, body }: ApiRequest): Promise<WatchResponse> {
        parseQuery(noQuerySchema, query)
        const { devices } = parseBody(watchRequestSchema, await body())
        const id = params.stream
        const watching = STREAM_ID_PATTERN.test(id) ? this.fleetStreams.watch(id, devices) : undefined
        if (watching === undefined)
            throw new ApiProblem(404, "no such live stream (it closed): open /api/events?view=fleet again", "stream")
        return { watching }
    }
}

function describeListenError(error: unknown, host: string, port: number): string {
    const code = (error as NodeJS.ErrnoException).code
    const where = `${host}:${port}`
    const hint = "choose another with --http-port (or --http-host)"
    switch (code) {
        case "EADDRINUSE":
            return `cannot serve the dashboard on ${where}: the port is already in use; ${hint}`
        case "EACCES":
            return `cannot serve the dashboard on ${where}: not allowed (ports below 1024 need privileges); ${hint}`
        case "EADDRNOTAVAIL":
        case "ENOTFOUND":
            return `cannot serve the dashboard on ${where}: no such address on this machine; ${hint}`
        default:
            return `cannot serve the dashboard on ${where}: ${(error as Error).message}; ${hint}`
    }
}
