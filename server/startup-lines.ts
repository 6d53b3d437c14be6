/** What `npm start` prints once everything listens; a wildcard listener also at LAN addresses. Pure. */
import type { RunningServer } from "./app"
import { isWildcard, lanAddresses, withHost, type Interfaces } from "./util/network-addresses"
import type { Settings } from "./config/settings"
import type { CertificateInfo } from "./config/tls"

type Server = Pick<RunningServer, "brokerUrl" | "loginsRequired"> & {
    broker?: { url: string; tlsUrl?: string; tlsCertificate?: CertificateInfo }
    http?: { loginUrl: string }
}

export function startupLines(
    server: Server,
    settings: Pick<Settings, "broker" | "http">,
    redactedUrl: string,
    interfaces?: Interfaces
): string[] {
    const lines: string[] = []
    const broker = server.broker
    if (broker && settings.broker.kind === "embedded") {
        lines.push(`MQTT broker listening on ${reachedAt(broker.url, settings.broker.host, interfaces).join(", ")}`)
        if (broker.tlsUrl !== undefined) {
            const host = settings.broker.tls?.host ?? settings.broker.host
            const at = reachedAt(broker.tlsUrl, host, interfaces).join(", ")
            lines.push(`MQTTS listening on ${at}${certificateNote(broker.tlsCertificate)}`)
        }
    } else lines.push(`Using the MQTT broker at ${redactedUrl}`)
    lines.push(...howToTry(server))
    if (server.http && settings.http.enabled)
        for (const url of reachedAt(server.http.loginUrl, settings.http.host, interfaces))
            lines.push(`Dashboard and HTTP API: ${url}`)
    return lines
}

/** `url` (this machine's) alone; for a wildcard listener, each LAN address's first. */
function reachedAt(url: string, host: string, interfaces: Interfaces | undefined): string[] {
    if (!isWildcard(host)) return [url]
    const lan = lanAddresses(host as "0.0.0.0" | "::", interfaces).map(a => `${withHost(url, a)} (from other machines)`)
    if (lan.length === 0) lan.push(`(every network, but this machine has no network address yet)`)
    return [...lan, `${url} (on this machine)`]
}

function certificateNote(cert: CertificateInfo | undefined): string {
    if (cert === undefined) return ""
    const names = cert.names.length > 0 ? cert.names.join(", ") : cert.subject
    return ` (certificate for ${names}, valid until ${cert.validTo.toISOString().slice(0, 10)})`
}

function howToTry(server: Server): string[] {
    const url = new URL(server.brokerUrl)
    if (url.protocol !== "mqtt:") return []
    const lines: string[] = []
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
    let target = `-h ${host} -p ${url.port || 1883}`
    if (server.loginsRequired) {
        lines.push("Clients log in: add them with npm run users -- add <name> --role device (docs/security.md)")
        target += " -u my-device -P <its password>"
    }
    lines.push(
        `Try it: mosquitto_sub ${target} -t 'my-device/commands' -v   # in one terminal`,
        `        mosquitto_pub ${target} -t 'my-device/telemetry' -m '{"light": 120}'   # in another`
    )
    return lines
}
