/**
 * Logins and per-topic rights as aedes hooks. Trap (aedes 1.2, tested): an error from authorizePublish
 * closes the connection, so a device over a rate limit would reconnect and replay for ever. A refused
 * publish is marked and DROPPED instead (as Mosquitto does for 3.1.1); only a refused will errs.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import type { AedesPublishPacket, AuthenticateError, Client, PublishPacket, Subscription } from "aedes"
import { printable, type Logger } from "../util/logger"
import { allowsPublish, allowsRead, allowsSubscribe, rulesFor, type Principal } from "./acl"
import { LogLimiter, suppressedText } from "../util/log-limit"
import {
    BROKER_AUTH_DEFAULTS,
    DROP,
    authError,
    type AuthStats,
    type BrokerAuthOptions,
    type ClientInternals,
    type Hooks,
    type Session,
} from "./broker-auth-types"
import { LoginGuard } from "./login-guard"
import { hashPassword, verifyPassword } from "./password-hash"
import { SessionGuard } from "./session-guard"

export { BROKER_AUTH_DEFAULTS, isDropped, type AuthStats, type BrokerAuthOptions } from "./broker-auth-types"

export class BrokerAuth {
    /** aedes' options: its hooks, and the sessions' store as its persistence (so one BrokerAuth per broker). */
    readonly hooks: Hooks
    private readonly options: BrokerAuthOptions
    private readonly log: Logger
    private readonly now: () => number
    private readonly guard: LoginGuard
    private readonly logLimiter: LogLimiter
    private readonly rememberMs: number
    private readonly sessions = new WeakMap<Client, Session>()
    private readonly byUser = new Map<string, Set<Client>>()
    private readonly remembered = new Map<string, { hash: string; digest: Buffer; until: number }>()
    private readonly hmacKey = randomBytes(32)
    private readonly sessionGuard: SessionGuard
    private dummyHash?: Promise<string>
    private readonly counts: Omit<AuthStats, keyof SessionGuard["counts"]> = {
        logins: 0,
        anonymousLogins: 0,
        failedLogins: 0,
        lockedOut: 0,
        slowedDown: 0,
        busy: 0,
        passwordChecks: 0,
        deniedPublishes: 0,
        deniedSubscribes: 0,
        deniedDeliveries: 0,
        rateLimited: 0,
        kicked: 0,
    }

    constructor(options: BrokerAuthOptions) {
        this.options = options
        this.log = options.logger.child({ component: "auth" })
        this.now = options.clock ?? Date.now
        const limits = { ...BROKER_AUTH_DEFAULTS, ...options.limits }
        this.guard = new LoginGuard(limits, this.now)
        this.logLimiter = new LogLimiter(
            (key, suppressed, spanMs) => this.log.warn(`${key}: ${suppressedText(suppressed, spanMs)}`),
            { linesPerWindow: 1, windowMs: limits.logEveryMs, maxKeys: limits.maxTracked },
            {
                now: this.now,
                setTimeout: (fn, ms) => setTimeout(fn, ms),
                clearTimeout: handle => clearTimeout(handle as NodeJS.Timeout),
            }
        )
        this.rememberMs = limits.rememberLoginMs
        options.users?.onChange(names => this.usersChanged(names))
        this.sessionGuard = new SessionGuard({
            limits: options.sessions,
            users: options.users,
            now: this.now,
            principalOf: client => this.sessions.get(client)?.principal,
            note: (key, line) => {
                if (this.logLimiter.allow(key)) this.log.warn(line)
            },
        })
        this.hooks = {
            preConnect: (client, packet, done) => {
                this.sessionGuard.preConnect(client, packet)
                done(null, true)
            },
            persistence: this.sessionGuard.store,
            authenticate: (client, username, password, done) =>
                void this.authenticate(client, username, password).then(
                    () => done(null, true),
                    (error: AuthenticateError) => done(error, false)
                ),
            authorizePublish: (client, packet, done) => done(this.authorizePublish(client, packet)),
            authorizeSubscribe: (client, sub, done) => done(null, this.authorizeSubscribe(client, sub)),
            authorizeForward: (client, packet) => this.authorizeForward(client, packet),
        }
    }

    stats(): AuthStats {
        return { ...this.counts, ...this.sessionGuard.counts }
    }

    /** Forgets the stored sessions offline too long (a timer does it every minute; tests with a fake clock). */
    expireSessions(): Promise<number> {
        return this.sessionGuard.expire()
    }

    private async authenticate(client: Client, username?: string, password?: Buffer): Promise<void> {
        const address = client.conn && "remoteAddress" in client.conn ? (client.conn.remoteAddress ?? "?") : "?"
        if (username === undefined || username === "") {
            if (!this.options.allowAnonymous) {
                this.refused("(anonymous)", address, "no username: this broker needs a login")
                throw authError(5, "not authorized")
            }
            await this.admit(client, { kind: "anonymous" }, address)
            this.counts.anonymousLogins++
            return
        }
        const who = printable(username, 64)
        if (this.guard.isLockedOut(address)) {
            this.counts.lockedOut++
            this.refused(
                who,
                address,
                "too many failed logins from this address; refused unchecked",
                `MQTT logins refused unchecked from ${address}`
            )
            throw authError(5, "not authorized")
        }
        if (this.guard.isSlowedDown(username, address)) {
            this.counts.slowedDown++
            this.refused(
                who,
                address,
                "too many failed logins for this user lately; slowed down, try again",
                `MQTT logins slowed down for ${who}`
            )
            throw authError(3, "server unavailable")
        }
        const entry = this.options.users?.get(username)
        const ok = await this.guard.throttled(() => this.check(username, password ?? Buffer.alloc(0), entry?.hash))
        if (ok === undefined) {
            this.counts.busy++
            this.refused(who, address, "too many logins waiting for a password check; try again", "busy")
            throw authError(3, "server unavailable")
        }
        if (!ok || !entry) {
            this.guard.failed(address, username)
            this.counts.failedLogins++
            this.refused(who, address, entry ? "wrong password" : "no such user")
            throw authError(4, "bad user name or password")
        }
        await this.admit(client, { kind: "user", username, role: entry.role }, address)
        this.guard.succeeded(address, username)
        this.counts.logins++
    }

    /** The password check. An unknown user is checked against a dummy hash, so timing tells nothing. */
    private async check(username: string, password: Buffer, hash: string | undefined): Promise<boolean> {
        const digest = createHmac("sha256", this.hmacKey).update(password).digest()
        const known = this.remembered.get(username)
        if (hash && known && known.hash === hash && known.until > this.now() && timingSafeEqual(known.digest, digest))
            return true
        this.dummyHash ??= hashPassword(randomBytes(16).toString("hex"))
        this.counts.passwordChecks++
        const ok = await verifyPassword(password, hash ?? (await this.dummyHash))
        if (ok && hash) this.remembered.set(username, { hash, digest, until: this.now() + this.rememberMs })
        return ok && hash !== undefined
    }

    /** Last checks once the password is right (its client id, its session), then its rules are fixed. */
    private async admit(client: Client, principal: Principal, address: string): Promise<void> {
        if (client.closed) return // it left during the check; aedes drops it, and there is nothing to track
        const name = principal.kind === "user" ? principal.username : "(anonymous)"
        await this.sessionGuard.admit(client, principal, why => this.refused(name, address, why))
        if (client.closed) return // it left while a session was being forgotten
        this.sessions.set(client, { principal, rules: rulesFor(principal, this.options.acl) })
        if (principal.kind === "user") {
            const set = this.byUser.get(principal.username) ?? new Set()
            set.add(client)
            this.byUser.set(principal.username, set)
            client.conn.once("close", () => {
                set.delete(client)
                if (set.size === 0 && this.byUser.get(principal.username) === set)
                    this.byUser.delete(principal.username)
            })
            this.log.debug(`${principal.username} (${principal.role}) logged in from ${address} as ${client.id}`)
        }
    }

    /** null: allowed, or dropped if marked (see isDropped); an Error refuses a will. */
    private authorizePublish(client: Client | null, packet: PublishPacket): Error | null {
        // null: a will left by a client of an earlier run (persistence); we cannot tell whose, so no
        const session = client ? this.sessions.get(client) : undefined
        if (!client || !session) return new Error("publish from an unknown client")
        const isWill = packet === (client as unknown as ClientInternals).will
        if (!allowsPublish(session.rules, packet.topic)) {
            this.counts.deniedPublishes++
            this.denied(session.principal, `publish to ${printable(packet.topic, 100)}${isWill ? " (its will)" : ""}`)
            if (isWill) return new Error("will topic not allowed")
            ;(packet as { [DROP]?: boolean })[DROP] = true
            return null
        }
        const limit = this.options.publishLimit
        const p = session.principal
        const limited = p.kind === "anonymous" || (p.role !== "server" && p.role !== "admin")
        if (limit && limited && !isWill && !limit(p.kind === "user" ? p.username : client.id)) {
            this.counts.rateLimited++
            ;(packet as { [DROP]?: boolean })[DROP] = true
        }
        return null
    }

    private authorizeSubscribe(client: Client, sub: Subscription): Subscription | null {
        const session = this.sessions.get(client)
        if (session && allowsSubscribe(session.rules, sub.topic)) return sub
        this.counts.deniedSubscribes++
        if (session) this.denied(session.principal, `subscribe to ${printable(sub.topic, 100)}`)
        return null
    }

    private authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
        const session = this.sessions.get(client)
        if (session && allowsRead(session.rules, packet.topic)) return packet
        this.counts.deniedDeliveries++
        return null
    }

    private usersChanged(names: string[]): void {
        for (const name of names) {
            this.remembered.delete(name)
            for (const client of this.byUser.get(name) ?? []) {
                this.counts.kicked++
                this.log.info(`closed ${name}'s session (${client.id}): the user was removed or changed`)
                client.close()
            }
        }
    }

    /** One line per user and address per minute; once an address is locked out, one line per address. */
    private refused(
        who: string,
        address: string,
        why: string,
        key = `MQTT logins refused for ${who} from ${address}`
    ): void {
        if (this.logLimiter.allow(key)) this.log.warn(`MQTT login refused for ${who} from ${address}: ${why}`)
    }

    /** One line per user and kind (publish, subscribe) per minute, whatever the topics. */
    private denied(principal: Principal, what: string): void {
        const who = principal.kind === "user" ? `${principal.username} (${principal.role})` : "an anonymous client"
        if (!this.logLimiter.allow(`${who} may not ${what.split(" ")[0]}`)) return
        this.log.warn(`${who} may not ${what}: ${what.startsWith("publish") ? "dropped" : "refused"}`)
    }
}
