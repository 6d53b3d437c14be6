/** The validated settings' shape, apart so options.ts and broker-options.ts need not import settings.ts. */
import type { ConnectionLimits } from "../mqtt/connection-gate"

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The embedded broker's security (docs/security.md); absent fields: the defaults. */
export interface BrokerSecurity {
    /** The credentials file; default: users.json in the data dir. */
    usersFile?: string
    /** Also beyond loopback. */
    allowAnonymous?: boolean
    tls?: { cert: string; key: string; ca?: string; port: number; host?: string }
    /** Limits on stored sessions (auth/session-book.ts); absent fields: its defaults. */
    sessions?: {
        maxSessions?: number
        maxSessionsPerUser?: number
        expiryMs?: number
        maxQueued?: number
        deviceSessions?: boolean
    }
    /** Limits on connections not logged in yet (mqtt/connection-gate.ts); absent: its defaults. */
    connectionLimits?: ConnectionLimits
}

export type BrokerSettings =
    | ({ kind: "embedded"; host: string; port: number } & BrokerSecurity)
    | {
          kind: "external"
          url: string
          username?: string
          password?: string
          caFile?: string
          /** Several servers share the telemetry under this name (docs/scale-out.md). */
          shareGroup?: string
      }

export interface Settings {
    help: boolean
    broker: BrokerSettings
    threshold: number
    band: number
    sim: { enabled: boolean; deviceId: string }
    logLevel: LogLevel
    dataDir: string
    retentionDays: number
    /** token: required of every dashboard/API request (else: one is made when the host is not loopback). */
    http: { enabled: boolean; host: string; port: number; token?: string }
    groupsFile: string | undefined
    maxDevices: number
    homeAssistant: { enabled: boolean; prefix: string; birthTopic: string }
}
