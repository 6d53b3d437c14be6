/**
 * The embedded broker with logins, in this process (EmbeddedBroker + BrokerAuth + UserStore, real aedes,
 * a real credentials file), for tests that attack it with their own clients. Each user's password is
 * `<name>-password`, hashed with cheap scrypt parameters so logins stay fast.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BrokerAuth, type BrokerAuthOptions } from "../../server/auth/broker-auth"
import { saveCredentials, type Role, type Users } from "../../server/auth/credentials"
import { hashPassword } from "../../server/auth/password-hash"
import { UserStore } from "../../server/auth/user-store"
import type { ConnectionLimits } from "../../server/mqtt/connection-gate"
import { EmbeddedBroker, type BrokerTlsOptions } from "../../server/mqtt/embedded-broker"
import { HOST, recordingLogger } from "./mqtt"

export interface SecuredBroker {
    broker: EmbeddedBroker
    auth: BrokerAuth
    store: UserStore
    /** What the broker logged, line by line. */
    lines: string[]
    /** What the broker logged, as a user reads it. */
    log(): string
    /** Adds (or replaces) users in the credentials file and waits until the broker has read it. */
    addUsers(users: Record<string, Role>): Promise<void>
    stop(): Promise<void>
}

export const passwordOf = (name: string) => `${name}-password`
export const loginOf = (name: string) => ({ username: name, password: passwordOf(name) })

/** A user's role, or its role and password (default: `<name>-password`). */
export type UserSpec = Role | [role: Role, password: string]

async function hashed(users: Record<string, UserSpec>, into: Users): Promise<Users> {
    for (const [name, spec] of Object.entries(users)) {
        const [role, password] = typeof spec === "string" ? [spec, passwordOf(name)] : spec
        into.set(name, { role, hash: await hashPassword(password, { N: 1024, r: 8, p: 1 }) })
    }
    return into
}

export async function startSecuredBroker(
    users: Record<string, UserSpec>,
    options: Partial<BrokerAuthOptions> = {},
    listener: { connectionLimits?: Partial<ConnectionLimits>; tls?: BrokerTlsOptions } = {}
): Promise<SecuredBroker> {
    const dir = mkdtempSync(join(tmpdir(), "nightlight-secured-"))
    const file = join(dir, "users.json")
    const all = await hashed(users, new Map())
    await saveCredentials(file, all)
    const { logger, lines } = recordingLogger("info")
    const store = new UserStore({ file, logger, pollMs: 60_000 })
    await store.start()
    const auth = new BrokerAuth({ users: store, allowAnonymous: false, logger, ...options })
    const broker = new EmbeddedBroker({ host: HOST, port: 0, logger, auth, ...listener })
    await broker.start()
    return {
        broker,
        auth,
        store,
        lines,
        log: () => lines.join(""),
        async addUsers(more) {
            await saveCredentials(file, await hashed(more, all))
            await store.poll()
        },
        async stop() {
            store.stop()
            await broker.stop()
            rmSync(dir, { recursive: true, force: true })
        },
    }
}
