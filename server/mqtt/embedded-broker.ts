/**
 * aedes inside the server process, so `npm start` needs nothing else installed. The server talks to it
 * in-process, outside logins and rules; readings only the server wants skip aedes' routing.
 */
import type { EventEmitter } from "node:events"
import { createServer, type Server, type Socket } from "node:net"
import { createServer as createTlsServer } from "node:tls"
import { Aedes } from "aedes"
import type { BrokerAuth } from "../auth/broker-auth"
import { ConnectionGate, refusalText, type ConnectionGateStats, type ConnectionLimits } from "./connection-gate"
import { PublishRouter, type Deliver, type DirectHandler } from "./publish-router"
import { LogLimiter, suppressedText } from "../util/log-limit"
import type { Logger } from "../util/logger"
import { PacketSizeGuard } from "./packet-size-guard"
import { useListBuffer } from "./parser-buffer"
import { TlsFileError, loadTlsFiles, type CertificateInfo, type TlsFiles } from "../config/tls"

export type { Deliver, DirectHandler } from "./publish-router"

export interface BrokerTlsOptions extends TlsFiles {
    /** 0 picks a free port (MQTTS' registered port is 8883). */
    port: number
    /** Default: the plain listener's host. */
    host?: string
}

export interface EmbeddedBrokerOptions {
    host: string
    /** 0 picks a free port; start() reports the one bound. */
    port: number
    logger: Logger
    /** Logins and per-topic rules; undefined lets every client in with every right. */
    auth?: BrokerAuth
    tls?: BrokerTlsOptions
    /** Default CONNECTION_LIMITS. */
    connectionLimits?: Partial<ConnectionLimits>
}

export interface BrokerStats extends ConnectionGateStats {
    oversizedPackets: number
}

export class BrokerStartError extends Error {
    override name = "BrokerStartError"
}

export class EmbeddedBroker {
    private readonly options: EmbeddedBrokerOptions
    private readonly log: Logger
    private aedesInstance?: Aedes
    private server?: Server
    private tlsServer?: Server
    /** Sockets that never completed an MQTT CONNECT are unknown to aedes; close them ourselves on stop. */
    private readonly sockets = new Set<Socket>()
    private boundPort?: number
    private boundTlsPort?: number
    private certificate?: CertificateInfo
    private shortcut?: PublishRouter

    private readonly gate: ConnectionGate
    private oversizedPackets = 0

    /** A flood of oversized packets costs a few lines a minute, not a full disk. */
    private readonly cutOff = new LogLimiter((key, suppressed, spanMs) =>
        this.log.warn(`${key}: ${suppressedText(suppressed, spanMs)}`)
    )

    constructor(options: EmbeddedBrokerOptions) {
        this.options = options
        this.log = options.logger.child({ component: "broker" })
        this.gate = new ConnectionGate(options.connectionLimits, undefined, (why, address) => {
            const text = refusalText(why, address, this.gate.limits)
            if (this.cutOff.allow(text)) this.log.warn(text)
        })
    }

    stats(): BrokerStats {
        return { ...this.gate.stats(), oversizedPackets: this.oversizedPackets }
    }

    get aedes(): Aedes {
        if (!this.aedesInstance) throw new Error("the embedded broker is not started")
        return this.aedesInstance
    }

    get port(): number {
        if (this.boundPort === undefined) throw new Error("the embedded broker is not started")
        return this.boundPort
    }

    /** A wildcard listen address is reached through loopback. */
    get url(): string {
        return `mqtt://${reachableHost(this.options.host)}:${this.port}`
    }

    get tlsPort(): number | undefined {
        return this.boundTlsPort
    }

    get tlsUrl(): string | undefined {
        if (this.boundTlsPort === undefined) return undefined
        return `mqtts://${reachableHost(this.options.tls?.host ?? this.options.host)}:${this.boundTlsPort}`
    }

    get tlsCertificate(): CertificateInfo | undefined {
        return this.certificate
    }

    /** A client's QoS 0 publish no client subscribes to goes to `direct`, not `deliver`. */
    subscribeInProcess(filter: string, deliver: Deliver, direct: DirectHandler): Promise<void> {
        const aedes = this.aedes
        this.shortcut?.add(deliver, direct)
        return new Promise(resolve => aedes.subscribe(filter, deliver, () => resolve()))
    }

    unsubscribeInProcess(filter: string, deliver: Deliver): Promise<void> {
        const aedes = this.aedes
        return new Promise(resolve =>
            aedes.unsubscribe(filter, deliver, () => {
                this.shortcut?.remove(deliver)
                resolve()
            })
        )
    }

    async start(): Promise<number> {
        if (this.server) throw new Error("the embedded broker is already started")
        const tlsFiles = this.options.tls && (await loadTls(this.options.tls))
        const auth = this.options.auth
        const aedes = await Aedes.createBroker(auth ? { ...auth.hooks } : {})
        const shortcut = PublishRouter.install(aedes)
        // Routine on a network, and aedes already closes that client.
        aedes.on("clientError", (client, err) => this.log.debug(`client ${client?.id} error: ${err.message}`))
        aedes.on("connectionError", (_client, err) => this.log.debug(`connection error: ${err.message}`))
        // Typed without "error", but aedes emits it (e.g. a persistence failure); unhandled, it would crash us.
        ;(aedes as EventEmitter).on("error", (err: Error) => this.log.error({ err }, "broker error"))
        aedes.on("client", client => this.log.debug(`client connected: ${client.id}`))
        aedes.on("clientDisconnect", client => this.log.debug(`client disconnected: ${client.id}`))
        aedes.on("connackSent", (packet, client) => {
            if (packet.returnCode === 0) this.gate.loggedIn(client.conn as Socket)
        })

        const server = createServer(socket => {
            this.track(socket)
            if (this.gate.open(socket, socket.remoteAddress ?? "?")) this.handle(aedes, socket)
        })
        const tlsServer =
            tlsFiles &&
            createTlsServer(
                { cert: tlsFiles.cert, key: tlsFiles.key, ca: tlsFiles.ca, minVersion: "TLSv1.2" },
                socket => this.handle(aedes, socket)
            )
        // A plain client on the TLS port, or one that does not trust our certificate: routine, not an error.
        tlsServer?.on("tlsClientError", (err: Error) => this.log.debug(`TLS handshake failed: ${err.message}`))
        tlsServer?.on("connection", (socket: Socket) => {
            this.track(socket)
            this.gate.open(socket, socket.remoteAddress ?? "?")
        })
        const tlsPort = this.options.tls?.port ?? 0
        const tlsHost = this.options.tls?.host ?? this.options.host
        try {
            await listen(server, this.options.host, this.options.port).catch(error => {
                throw new BrokerStartError(describeListenError(error, this.options.host, this.options.port))
            })
            if (tlsServer)
                await listen(tlsServer, tlsHost, tlsPort).catch(error => {
                    throw new BrokerStartError(describeListenError(error, tlsHost, tlsPort, "MQTTS"))
                })
        } catch (error) {
            await new Promise<void>(resolve => (server.listening ? server.close(() => resolve()) : resolve()))
            await new Promise<void>(resolve => aedes.close(() => resolve()))
            throw error
        }
        this.aedesInstance = aedes
        this.shortcut = shortcut
        this.server = server
        this.tlsServer = tlsServer
        this.certificate = tlsFiles?.info
        this.boundPort = boundPort(server, this.options.port)
        this.log.debug(`listening on ${this.options.host}:${this.boundPort}`)
        if (tlsServer) {
            this.boundTlsPort = boundPort(tlsServer, tlsPort)
            this.log.debug(`MQTTS listening on ${tlsHost}:${this.boundTlsPort}`)
            const { expired, validTo } = tlsFiles!.info
            if (expired)
                this.log.warn(
                    `the MQTTS certificate ${this.options.tls!.cert} expired on ${validTo.toISOString()}: clients will refuse it`
                )
        }
        return this.boundPort
    }

    private handle(aedes: Aedes, socket: Socket): void {
        // Commands and acks are small and due at once: Nagle plus the peer's delayed ACK holds them
        // tens of milliseconds.
        socket.setNoDelay(true)
        useListBuffer(aedes.handle(socket))
        const guard = new PacketSizeGuard()
        // aedes reads on "readable" with read(); a "data" listener added after it sees the same chunks and
        // leaves the stream paused (a "readable" listener takes precedence).
        socket.on("data", (chunk: Buffer) => {
            const problem = guard.feed(chunk)
            if (problem === undefined) return
            this.oversizedPackets++
            if (this.cutOff.allow("closed connections that sent oversized packets"))
                this.log.warn(`closed a connection from ${socket.remoteAddress}: it sent ${problem}`)
            socket.destroy()
        })
    }

    async stop(): Promise<void> {
        const servers = [this.server, this.tlsServer].filter(s => s !== undefined)
        const aedes = this.aedesInstance
        this.server = undefined
        this.tlsServer = undefined
        this.aedesInstance = undefined
        this.shortcut = undefined
        this.boundTlsPort = undefined
        if (servers.length === 0 || !aedes) return
        const closed = Promise.all(servers.map(s => new Promise<void>(resolve => s.close(() => resolve()))))
        await new Promise<void>(resolve => aedes.close(() => resolve()))
        for (const socket of this.sockets) socket.destroy()
        await closed
    }

    private track(socket: Socket): void {
        this.sockets.add(socket)
        socket.once("close", () => {
            this.sockets.delete(socket)
            this.gate.closed(socket)
        })
    }
}

function reachableHost(host: string): string {
    const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host
    return reachable.includes(":") ? `[${reachable}]` : reachable
}

function boundPort(server: Server, requested: number): number {
    const address = server.address()
    return typeof address === "object" && address ? address.port : requested
}

async function loadTls(options: BrokerTlsOptions) {
    try {
        return await loadTlsFiles(options)
    } catch (error) {
        if (error instanceof TlsFileError) throw new BrokerStartError(error.message)
        throw error
    }
}

function listen(server: Server, host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const onError = (error: Error) => reject(error)
        server.once("error", onError)
        server.listen(port, host, () => {
            server.off("error", onError)
            resolve()
        })
    })
}

function describeListenError(error: unknown, host: string, port: number, what = "MQTT"): string {
    const code = (error as NodeJS.ErrnoException).code
    const hint = what === "MQTT" ? "Use --mqtt-port or --mqtt-url" : "Use another MQTTS port"
    switch (code) {
        case "EADDRINUSE":
            return `${what} port ${port} on ${host} is already in use — is another MQTT broker running? ${hint}`
        case "EACCES":
            return `not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges). ${hint}`
        case "EADDRNOTAVAIL":
        case "ENOTFOUND":
        case "EAI_AGAIN":
            return `cannot listen on ${host}: no such address on this machine. Use --mqtt-host (e.g. 127.0.0.1)`
        default:
            return `cannot listen on ${host}:${port}: ${(error as Error).message}`
    }
}
