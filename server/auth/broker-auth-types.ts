/**
 * What BrokerAuth (broker-auth.ts) takes and reports (its options, defaults and counters), the mark on a
 * publish it drops, the aedes internals it reads, and the small pure helpers of its login checks. Kept
 * apart so broker-auth.ts holds the hooks alone; every public name is re-exported from broker-auth.ts,
 * where the rest of the server imports them.
 */
import type { AedesOptions, AuthenticateError, Client } from "aedes"
import type { Logger } from "../util/logger"
import type { AclOptions, Principal, Rules } from "./acl"
import { LOGIN_GUARD_DEFAULTS, type LoginGuardLimits } from "./login-guard"
import type { SessionLimits } from "./session-book"
import type { SessionCounts } from "./session-guard"
import type { UserDirectory } from "./user-store"

export const BROKER_AUTH_DEFAULTS = {
    ...LOGIN_GUARD_DEFAULTS,
    /**
     * A successful login is remembered this long (ms), so a device that reconnects (a Wi-Fi blip, a
     * broker restart of its own) costs no new 60 ms check. Only successes are remembered, as a keyed
     * HMAC of the password: a wrong password always gets the full slow check.
     */
    rememberLoginMs: 10 * 60_000,
}

export interface BrokerAuthOptions {
    /** Who may log in; without it nobody can, and only anonymous clients (if allowed) connect. */
    users?: UserDirectory
    /** Let clients without a username in, with every right (exposure.ts decides). */
    allowAnonymous: boolean
    logger: Logger
    acl?: AclOptions
    /**
     * Rate limit: false means this publish is over the limit and is dropped (not an error: the client
     * stays connected). Called with the username, or the client id of an anonymous client. The server
     * and admin roles are not limited; nor are wills.
     */
    publishLimit?: (key: string) => boolean
    clock?: () => number
    limits?: Partial<LoginGuardLimits & { rememberLoginMs: number }>
    /** Stored sessions: limits and queue cap (session-book.ts SESSION_DEFAULTS). */
    sessions?: Partial<SessionLimits>
}

/** Login counts, and the session counts of SessionGuard (session-guard.ts). */
export interface AuthStats extends SessionCounts {
    logins: number
    anonymousLogins: number
    failedLogins: number
    /** Logins refused without a check: their address failed too often. */
    lockedOut: number
    /** Logins answered "server unavailable" without a check: their user name failed too often (LoginGuard). */
    slowedDown: number
    /** Logins turned away because too many password checks were waiting. */
    busy: number
    /** Slow password checks done (a remembered login needs none). */
    passwordChecks: number
    deniedPublishes: number
    deniedSubscribes: number
    deniedDeliveries: number
    rateLimited: number
    /** Sessions closed because their user changed. */
    kicked: number
}

/** Marks a publish that EmbeddedBroker must drop (why: the header of broker-auth.ts). */
export const DROP = Symbol("nightlight.drop")

export function isDropped(packet: object): boolean {
    return (packet as { [DROP]?: boolean })[DROP] === true
}

/** A logged-in client: who it is, and the rules fixed for it when it logged in. */
export interface Session {
    principal: Principal
    rules: Rules
}

export type Hooks = Required<
    Pick<
        AedesOptions,
        "preConnect" | "authenticate" | "authorizePublish" | "authorizeSubscribe" | "authorizeForward" | "persistence"
    >
>

/** What aedes has on a client but does not declare. */
export interface ClientInternals {
    will?: unknown
    broker: { clients: Record<string, Client | undefined> }
}

/** The error that makes aedes answer a CONNECT with `returnCode` in its CONNACK. */
export function authError(returnCode: 2 | 3 | 4 | 5, message: string): AuthenticateError {
    return Object.assign(new Error(message), { returnCode }) as AuthenticateError
}
