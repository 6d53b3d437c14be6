/** For the start-up lines: a phone on the LAN reaches a wildcard listener at the machine's address. */
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os"

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>

export function isWildcard(host: string): boolean {
    return host === "0.0.0.0" || host === "::"
}

/**
 * This machine's addresses on its networks that a listener on `wildcard` answers on: IPv4 for 0.0.0.0,
 * IPv4 then IPv6 for ::. Loopback and IPv6 link-local ones (fe80::, unusable in a link) are left out.
 */
export function lanAddresses(wildcard: "0.0.0.0" | "::", interfaces: Interfaces = networkInterfaces()): string[] {
    const all = Object.values(interfaces).flatMap(list => list ?? [])
    const external = all.filter(i => !i.internal && !i.address.toLowerCase().startsWith("fe80:"))
    const v4 = external.filter(i => i.family === "IPv4").map(i => i.address)
    const v6 = wildcard === "::" ? external.filter(i => i.family === "IPv6").map(i => i.address) : []
    return [...new Set([...v4, ...v6])]
}

export function withHost(url: string, address: string): string {
    const out = new URL(url)
    out.hostname = address.includes(":") ? `[${address}]` : address
    return out.href.replace(/\/$/, "")
}
