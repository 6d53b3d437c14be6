/** BrokerAuth's options, counters and helpers, apart so broker-auth.ts (re-exporting them) holds the hooks. */
import type { AedesOptions, AuthenticateError, Client } from "aedes"
import type { Logger } from "../util/logger"
import type { AclOptions, Principal, Rules } from "./acl"
import { LOGIN_GUARD_DEFAULTS, type LoginGuardLimits } from "./login-guard"
import type { SessionLimits } from "./session-book"
import type { SessionCounts } from "./session-guard"
import type { UserDirectory } from "./user-store"

export const BROKER_AUTH_DEFAULTS = {
    ...LOGIN_GUARD_DEFAULTS,
    /** ms a success is remembered (as a keyed HMAC), so a reconnect skips the 60 ms check; failures never are. */
    rememberLoginMs: 10 * 60_000,
}

export interface BrokerAuthOptions {
    /** Without it only anonymous clients (if allowed) connect. */
    users?: UserDirectory
    /** With every right (exposure.ts decides). */
    allowAnonymous: boolean
    logger: Logger
    acl?: AclOptions
    /** false drops the publish (the client stays connected); keyed by username or anonymous client id. */
    publishLimit?: (key: string) => boolean
    clock?: () => number
    limits?: Partial<LoginGuardLimits & { rememberLoginMs: number }>
    /** Default SESSION_DEFAULTS. */
    sessions?: Partial<SessionLimits>
}

export interface AuthStats extends SessionCounts {
    logins: number
    anonymousLogins: number
    failedLogins: number
    lockedOut: number
    slowedDown: number
    busy: number
    passwordChecks: number
    deniedPublishes: number
    deniedSubscribes: number
    deniedDeliveries: number
    rateLimited: number
    kicked: number
}

/** Marks a publish that EmbeddedBroker must drop (why: the header of broker-auth.ts). */
export const DROP = Symbol("nightlight.drop")

export function isDropped(packet: object): boolean {
    return (packet as { [DROP]?: boolean })[DROP] === true
}

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
