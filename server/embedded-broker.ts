/**
 * An MQTT broker inside the server process (aedes on a plain TCP listener), so `npm start` needs nothing
 * else installed. Devices and tools connect to it like to any broker; the server itself talks to it
 * in-process (see EmbeddedBus).
 */
import type { EventEmitter } from "node:events"
import { createServer, type Server, type Socket } from "node:net"
import { Aedes } from "aedes"
import type { Logger } from "./logger"

export interface EmbeddedBrokerOptions {
    host: string
    /** 0 picks a free port; start() reports the one bound. */
    port: number
    logger: Logger
}

/** The broker could not start; the message says why in words a user can act on. */
export class BrokerStartError extends Error {
    override name = "BrokerStartError"
}

export class EmbeddedBroker {
    private readonly options: EmbeddedBrokerOptions
    private readonly log: Logger
    private aedesInstance?: Aedes
    private server?: Server
    /** Sockets that never completed an MQTT CONNECT are unknown to aedes; close them ourselves on stop. */
    private readonly sockets = new Set<Socket>()
    private boundPort?: number

    constructor(options: EmbeddedBrokerOptions) {
        this.options = options
        this.log = options.logger.child({ component: "broker" })
    }

    /** The running aedes instance, for in-process publish/subscribe. */
    get aedes(): Aedes {
        if (!this.aedesInstance) throw new Error("the embedded broker is not started")
        return this.aedesInstance
    }

    get port(): number {
        if (this.boundPort === undefined) throw new Error("the embedded broker is not started")
        return this.boundPort
    }

    /** A URL clients on this machine can use. A wildcard listen address is reached through loopback. */
    get url(): string {
        const { host } = this.options
        const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host
        return `mqtt://${reachable.includes(":") ? `[${reachable}]` : reachable}:${this.port}`
    }

    /** Listens; resolves with the bound port. */
    async start(): Promise<number> {
        if (this.server) throw new Error("the embedded broker is already started")
        const aedes = await Aedes.createBroker()
        // Client errors (a device that drops mid-packet, a malformed packet) are routine on a network:
        // aedes already closes that client; note it and carry on.
        aedes.on("clientError", (client, err) => this.log.debug(`client ${client?.id} error: ${err.message}`))
        aedes.on("connectionError", (_client, err) => this.log.debug(`connection error: ${err.message}`))
        // Typed without "error", but aedes emits it (e.g. a persistence failure); unhandled, it would crash us.
        ;(aedes as EventEmitter).on("error", (err: Error) => this.log.error({ err }, "broker error"))
        aedes.on("client", client => this.log.debug(`client connected: ${client.id}`))
        aedes.on("clientDisconnect", client => this.log.debug(`client disconnected: ${client.id}`))

        const server = createServer(socket => {
            this.sockets.add(socket)
            socket.once("close", () => this.sockets.delete(socket))
            aedes.handle(socket)
        })
        try {
            await listen(server, this.options.host, this.options.port)
        } catch (error) {
            await new Promise<void>(resolve => aedes.close(() => resolve()))
            throw new BrokerStartError(describeListenError(error, this.options.host, this.options.port))
        }
        this.aedesInstance = aedes
        this.server = server
        const address = server.address()
        this.boundPort = typeof address === "object" && address ? address.port : this.options.port
        this.log.debug(`listening on ${this.options.host}:${this.boundPort}`)
        return this.boundPort
    }

    async stop(): Promise<void> {
        const server = this.server
        const aedes = this.aedesInstance
        this.server = undefined
        this.aedesInstance = undefined
        if (!server || !aedes) return
        const closed = new Promise<void>(resolve => server.close(() => resolve()))
        await new Promise<void>(resolve => aedes.close(() => resolve()))
        for (const socket of this.sockets) socket.destroy()
        await closed
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

function describeListenError(error: unknown, host: string, port: number): string {
    const code = (error as NodeJS.ErrnoException).code
    const hint = "Use --mqtt-port or --mqtt-url"
    switch (code) {
        case "EADDRINUSE":
            return `port ${port} on ${host} is already in use — is another MQTT broker running? ${hint}`
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
