/**
 * The lines `npm start` prints about where it listens (server/startup-lines.ts): a listener on every
 * network is shown at the machine's LAN addresses, not only 127.0.0.1, and the MQTTS listener is
 * announced at info level. The real server in a child process, read as a user reads it; the choice of
 * addresses with made-up interfaces.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { networkInterfaces, tmpdir, type NetworkInterfaceInfo } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, test } from "vitest"
import { lanAddresses } from "../../server/util/network-addresses"
import { makeCa, makeServerCert } from "../helpers/certificates"
import { ServerProcess } from "../helpers/server-process"

const servers: ServerProcess[] = []
const dirs: string[] = []
afterAll(async () => {
    for (const s of servers) {
        await s.stop()
        s.cleanup()
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function iface(address: string, family: "IPv4" | "IPv6", internal = false): NetworkInterfaceInfo {
    const base = { address, netmask: "", mac: "00:00:00:00:00:00", internal, cidr: null }
    return family === "IPv4" ? { ...base, family } : { ...base, family, scopeid: 0 }
}

describe("the machine's addresses for a wildcard listener", () => {
    const interfaces = {
        lo: [iface("127.0.0.1", "IPv4", true), iface("::1", "IPv6", true)],
        eth0: [iface("192.168.1.20", "IPv4"), iface("fe80::1", "IPv6"), iface("2001:db8::20", "IPv6")],
        wlan0: [iface("10.0.0.5", "IPv4")],
    }

    test("0.0.0.0: the IPv4 ones, no loopback", () => {
        expect(lanAddresses("0.0.0.0", interfaces)).toEqual(["192.168.1.20", "10.0.0.5"])
    })

    test(":: also the IPv6 ones, without link-local", () => {
        expect(lanAddresses("::", interfaces)).toEqual(["192.168.1.20", "10.0.0.5", "2001:db8::20"])
    })
})

describe("npm start on every network", () => {
    test("prints the LAN addresses of the broker, its MQTTS listener and the dashboard link", async () => {
        const dir = mkdtempSync(join(tmpdir(), "nightlight-startup-"))
        dirs.push(dir)
        await makeCa(dir, "ca")
        await makeServerCert(dir, "ca", "server", "IP:127.0.0.1,DNS:nightlight.local")
        const server = new ServerProcess(
            [
                ...["--no-sim", "--mqtt-host", "0.0.0.0", "--mqtt-port", "0", "--mqtt-allow-anonymous"],
                ...["--mqtt-tls-cert", join(dir, "server.crt"), "--mqtt-tls-key", join(dir, "server.key")],
                ...["--mqtt-tls-port", "0", "--http-host", "0.0.0.0"],
            ],
            { dashboard: true }
        )
        servers.push(server)
        server.start()
        await server.waitFor(/Registry and history/)
        const lines = server.log.split("\n")
        const line = (start: RegExp) => lines.find(l => start.test(l)) ?? `(no line ${start})`

        const lan = lanAddresses("0.0.0.0", networkInterfaces())
        const broker = line(/INFO: MQTT broker listening on/)
        const tls = line(/INFO: MQTTS listening on/)
        const dashboard = lines.filter(l => l.includes("INFO: Dashboard and HTTP API:"))
        // this machine's own link stays, labelled as such
        expect(broker).toMatch(/mqtt:\/\/127\.0\.0\.1:\d+ \(on this machine\)/)
        expect(tls).toMatch(/mqtts:\/\/127\.0\.0\.1:\d+ \(on this machine\)/)
        expect(tls).toMatch(/certificate for 127\.0\.0\.1, nightlight\.local, valid until \d{4}-\d\d-\d\d/)
        expect(dashboard.at(-1)).toMatch(/http:\/\/127\.0\.0\.1:\d+\/\?token=\S+ \(on this machine\)/)
        if (lan.length === 0) expect(broker).toMatch(/this machine has no network address yet/)
        for (const address of lan) {
            expect(broker).toMatch(
                new RegExp(`mqtt://${address.replaceAll(".", "\\.")}:\\d+ \\(from other machines\\)`)
            )
            expect(tls).toContain(`mqtts://${address}:`)
            expect(dashboard.some(l => /\?token=\S+ \(from other machines\)/.test(l) && l.includes(address))).toBe(true)
        }
    })
})
