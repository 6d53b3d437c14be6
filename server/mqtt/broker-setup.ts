/** The embedded broker with its security (docs/security.md): logins, rights, rate limit, MQTTS. */
import { join } from "node:path"
import { BrokerAuth } from "../auth/broker-auth"
import { CREDENTIALS_FILE_NAME } from "../auth/credentials"
import { exposurePolicy } from "../auth/exposure"
import { UserStore } from "../auth/user-store"
import { BrokerStartError, EmbeddedBroker } from "./embedded-broker"
import type { Logger } from "../util/logger"
import { RateLimiter } from "../util/rate-limit"
import type { BrokerSettings } from "../config/settings"

export interface SecuredBroker {
    broker: EmbeddedBroker
    loginsRequired: boolean
    /** The broker URL a device on this machine uses: with credentials of its own when logins are needed. */
    deviceUrl(deviceId: string): Promise<string>
    /** For /api/stats. */
    stats(): Record<string, number>
    stop(): Promise<void>
}

export async function startEmbeddedBroker(
    settings: Extract<BrokerSettings, { kind: "embedded" }>,
    dataDir: string | undefined,
    haPrefix: string,
    logger: Logger,
    haBirthTopic?: string
): Promise<SecuredBroker> {
    const usersFile = settings.usersFile ?? (dataDir === undefined ? undefined : join(dataDir, CREDENTIALS_FILE_NAME))
    const users = usersFile === undefined ? undefined : new UserStore({ file: usersFile, logger })
    const loaded = await users?.start()
    try {
        for (const warning of loaded?.warnings ?? []) logger.warn(warning)
        const tlsHost = settings.tls ? (settings.tls.host ?? settings.host) : undefined
        const decision = exposurePolicy({
            host: settings.host,
            tlsHost,
            users: loaded?.users ?? 0,
            allowAnonymous: settings.allowAnonymous ?? false,
        })
        if (!decision.ok) throw new BrokerStartError(decision.error)
        for (const warning of decision.warnings) logger.warn(warning)
        if (!decision.anonymous) logger.info(`MQTT logins required: ${loaded!.users} user(s) in ${usersFile}`)
        const limiter = new RateLimiter()
        const auth = new BrokerAuth({
            users,
            allowAnonymous: decision.anonymous,
            logger,
            acl: { haPrefix, haBirthTopic },
            publishLimit: key => limiter.take(key),
            sessions: settings.sessions,
        })
        const broker = new EmbeddedBroker({
            host: settings.host,
            port: settings.port,
            logger,
            auth,
            tls: settings.tls,
            connectionLimits: settings.connectionLimits,
        })
        await broker.start()
        return {
            broker,
            loginsRequired: !decision.anonymous,
            stats: () => ({ ...auth.stats(), ...broker.stats() }),
            async deviceUrl(deviceId) {
                if (decision.anonymous || !users) return broker.url
                // a password for this run only: the simulated device is ours, not a user's
                const password = await users.addEphemeral(deviceId, "device")
                const url = new URL(broker.url)
                url.username = encodeURIComponent(deviceId)
                url.password = encodeURIComponent(password)
                return url.toString().replace(/\/$/, "")
            },
            async stop() {
                await broker.stop()
                users?.stop()
            },
        }
    } catch (error) {
        users?.stop()
        throw error
    }
}
