/** Keeps the first run easy and an exposed broker locked, as Mosquitto 2 does. Pure. */

/** Addresses only this machine can reach. Anything else (0.0.0.0, ::, a LAN address, a name) is exposed. */
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost", "[::1]"])

export function isLoopback(host: string): boolean {
    return LOOPBACK.has(host.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(host)
}

export interface ExposureInput {
    host: string
    tlsHost?: string
    users: number
    /** --mqtt-allow-anonymous */
    allowAnonymous: boolean
    flags?: { users: string; allowAnonymous: string; tls: string }
}

export type ExposureDecision =
    | {
          ok: true
          anonymous: boolean
          warnings: string[]
      }
    | { ok: false; error: string }

const FLAGS = { users: "npm run users -- add", allowAnonymous: "--mqtt-allow-anonymous", tls: "--mqtt-tls-cert" }

/**
 * - Users in the file: everyone logs in (on loopback too: users were made to be used), unless the
 *   opt-out also lets anonymous clients in.
 * - No users, loopback only: anonymous clients (the first run stays easy).
 * - No users, exposed: refused, unless the opt-out; then a loud warning.
 * - Logins over a plain listener that other machines reach: a warning, since passwords cross the
 *   network in clear.
 */
export function exposurePolicy(input: ExposureInput): ExposureDecision {
    const flags = { ...FLAGS, ...input.flags }
    const hosts = input.tlsHost === undefined ? [input.host] : [input.host, input.tlsHost]
    const exposed = hosts.filter(host => !isLoopback(host))
    const where = exposed.map(host => (host === "0.0.0.0" || host === "::" ? `${host} (every network)` : host))
    const warnings: string[] = []
    if (input.users === 0 && exposed.length > 0 && !input.allowAnonymous)
        return {
            ok: false,
            error:
                `the MQTT broker would listen on ${where.join(" and ")} with no users: anyone who can reach it ` +
                `could read every reading and switch every light. Add users first (${flags.users} <name> --role device), ` +
                `or pass ${flags.allowAnonymous} to accept that`,
        }
    if (input.allowAnonymous && exposed.length > 0)
        warnings.push(
            `!!! ANONYMOUS MQTT CLIENTS ALLOWED on ${where.join(" and ")} (${flags.allowAnonymous}): anyone who ` +
                "can reach this machine can read every reading and switch every light"
        )
    if (input.users > 0 && !isLoopback(input.host))
        warnings.push(
            `MQTT passwords cross the network unencrypted on the plain listener (${input.host}); ` +
                `prefer TLS (${flags.tls}) and keep the plain listener on 127.0.0.1`
        )
    return { ok: true, anonymous: input.users === 0 || input.allowAnonymous, warnings }
}
