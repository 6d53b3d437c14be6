// `npm run deploy` runs DeviceScript's real flashing path. Here (no board, no internet) it must fail
// with one line a person can act on, not a stack trace; the checks behind it are pure and tested too.
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { explainDeployFailure, settingsWarnings } from "../scripts/deploy-checks"

function deploy(...args: string[]) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/deploy.ts", ...args], {
        encoding: "utf8",
        timeout: 90_000,
        env: { ...process.env, NO_COLOR: "1" },
    })
    return { code: r.status, out: `${r.stdout}${r.stderr}` }
}

describe("npm run deploy", () => {
    it("refuses an unknown board with exit 2 and lists the boards", () => {
        const r = deploy("--board", "uno")
        expect(r.code).toBe(2)
        expect(r.out).toContain('unknown board "uno"')
        expect(r.out).toContain("xiao_nightlight")
    })

    it("explains that the Wio Terminal cannot run DeviceScript", () => {
        const r = deploy("--board", "wio_terminal")
        expect(r.code).toBe(2)
        expect(r.out).toMatch(/Wio Terminal \(SAMD51\) cannot run DeviceScript/)
    })

    it("requires --board", () => {
        expect(deploy().code).toBe(2)
    })

    it("fails without a board or internet with a clear message and no stack trace", () => {
        const r = deploy("--board", "picow_nightlight")
        expect(r.code).toBe(1)
        expect(r.out).toMatch(/deploy failed while flashing the runtime: /)
        expect(r.out).not.toMatch(/^\s+at /m)
    }, 90_000)
})

describe("explainDeployFailure", () => {
    it("is silent when the command worked", () => {
        expect(explainDeployFailure(0, "done")).toBeUndefined()
    })
    it("names a failed download", () => {
        expect(
            explainDeployFailure(1, "TypeError: fetch failed\n  [cause]: Error: getaddrinfo ENOTFOUND github.com")
        ).toMatch(/could not download the DeviceScript runtime/)
    })
    it("names a missing board or serial tool", () => {
        expect(explainDeployFailure(1, "Error: spawn udevadm ENOENT\n    at ChildProcess")).toMatch(/no board found/)
    })
    it("falls back to the CLI's last line, without stack frames", () => {
        const why = explainDeployFailure(3, "something odd happened\n    at foo (bar.js:1:1)")
        expect(why).toBe("the DeviceScript CLI failed (exit 3): something odd happened")
    })
})

describe("settingsWarnings", () => {
    it("warns about missing Wi-Fi and a loopback broker address", () => {
        const w = settingsWarnings({}, "xiao_nightlight")
        expect(w.some(x => x.includes("WIFI_SSID"))).toBe(true)
        expect(w.some(x => x.includes("MQTT_HOST is 127.0.0.1"))).toBe(true)
    })
    it("is quiet when Wi-Fi and a LAN broker are set", () => {
        expect(settingsWarnings({ WIFI_SSID: "home", MQTT_HOST: "192.168.1.20" }, "xiao_nightlight")).toEqual([])
    })
    it("warns that the Pico W has no TLS", () => {
        const w = settingsWarnings({ WIFI_SSID: "home", MQTT_HOST: "10.0.0.2", MQTT_PROTO: "tls" }, "picow_nightlight")
        expect(w).toHaveLength(1)
    })
})
