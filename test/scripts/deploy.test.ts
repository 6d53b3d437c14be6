// `npm run deploy` runs DeviceScript's real flashing path. Here (no board, no internet) it must stop by
// itself with lines a person can act on, saying which is missing: no stack trace, no colour codes. The
// checks behind it are pure and tested too.
import { spawn } from "node:child_process"
import { once } from "node:events"
import { describe, expect, it } from "vitest"
import { explainDeployFailure, settingsWarnings } from "../../scripts/deploy-checks"
import { boardsOnUsb, deployProblems, reachGitHub } from "../../scripts/deploy-preflight"

/** Long enough for the CLI's own failures; `devs devtools` waiting for a board never ends by itself. */
const DEPLOY_LIMIT_MS = 60_000

/**
 * Runs the deploy script in a process group of its own; past `limitMs` the whole group is killed (the
 * DeviceScript CLI it starts too) and `code` is "timed out".
 */
async function deploy(args: string[], limitMs = DEPLOY_LIMIT_MS): Promise<{ code: number | string; out: string }> {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/deploy.ts", ...args], {
        env: { ...process.env, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
    })
    let out = ""
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding("utf8").on("data", chunk => (out += chunk))
    let timedOut = false
    const timer = setTimeout(() => {
        timedOut = true
        process.kill(-child.pid!, "SIGKILL")
    }, limitMs)
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null]
    clearTimeout(timer)
    return { code: timedOut ? "timed out" : (code ?? signal ?? "?"), out }
}

// ESC followed by "[": the start of a colour code (printed raw when the output is not a terminal)
const ANSI = /\u001b\[/
const noBoardHere = boardsOnUsb("esp32")?.length === 0 && boardsOnUsb("rp2040")?.length === 0

describe("npm run deploy", () => {
    it("refuses an unknown board with exit 2 and lists the boards", async () => {
        const r = await deploy(["--board", "uno"])
        expect(r.code).toBe(2)
        expect(r.out).toContain('unknown board "uno"')
        expect(r.out).toContain("xiao_nightlight")
    })

    it("explains that the Wio Terminal cannot run DeviceScript", async () => {
        const r = await deploy(["--board", "wio_terminal"])
        expect(r.code).toBe(2)
        expect(r.out).toMatch(/Wio Terminal \(SAMD51\) cannot run DeviceScript/)
    })

    it("requires --board", async () => {
        expect((await deploy([])).code).toBe(2)
    })

    it.skipIf(!noBoardHere)(
        "--skip-flash without a board stops by itself and says there is no board",
        async () => {
            const r = await deploy(["--board", "xiao_nightlight", "--skip-flash"])
            expect(r.code).toBe(1)
            expect(r.out).toContain("deploy stopped before it started: no board.\n")
            expect(r.out).toContain(
                "  no board: no USB serial port (such as /dev/ttyUSB0 or /dev/ttyACM0). " +
                    "Plug the Seeed XIAO ESP32-C3 in with a data cable"
            )
            expect(r.out).not.toContain("no internet") // deploying alone needs none
            expect(r.out).not.toContain("watching")
        },
        DEPLOY_LIMIT_MS + 5000
    )

    it.skipIf(!noBoardHere)(
        "flashing without a board or internet names each one missing, with no stack trace or colour codes",
        async () => {
            const online = (await reachGitHub()).ok
            for (const [board, name] of [
                ["xiao_nightlight", "Seeed XIAO ESP32-C3"],
                ["picow_nightlight", "Raspberry Pi Pico W"],
            ]) {
                const r = await deploy(["--board", board])
                expect(r.code).toBe(1)
                const which = online ? "no board" : "no board and no internet"
                expect(r.out).toContain(`deploy stopped before it started: ${which}.\n`)
                expect(r.out).toContain(`Plug the ${name} in with a data cable`)
                if (!online)
                    expect(r.out).toMatch(
                        /\n {2}no internet: github\.com cannot be reached \(.+\)\. Flashing downloads/
                    )
                expect(r.out).not.toMatch(/^\s+at /m)
                expect(r.out).not.toMatch(ANSI)
            }
        },
        2 * DEPLOY_LIMIT_MS + 5000
    )
})

describe("deployProblems", () => {
    const xiao = { family: "esp32" as const, description: "Seeed XIAO ESP32-C3" }

    it("is empty with a board and internet", () => {
        expect(deployProblems({ ...xiao, boards: ["/dev/ttyACM0"], internet: { ok: true } })).toEqual([])
    })

    it("names only the internet when the board is there", () => {
        const lines = deployProblems({ ...xiao, boards: ["/dev/ttyACM0"], internet: { ok: false, why: "timeout" } })
        expect(lines[0]).toBe("deploy stopped before it started: no internet.")
        expect(lines).toHaveLength(2)
        expect(lines[1]).toMatch(/^ {2}no internet: github\.com cannot be reached \(timeout\)\./)
    })

    it("asks about no internet only when flashing, and no board only where the platform can tell", () => {
        expect(deployProblems({ ...xiao, boards: [], internet: undefined })[0]).toBe(
            "deploy stopped before it started: no board."
        )
        expect(deployProblems({ ...xiao, boards: undefined, internet: undefined })).toEqual([])
        expect(boardsOnUsb("esp32", "win32")).toBeUndefined()
    })

    it("tells a Pico W to be plugged in holding BOOTSEL", () => {
        const lines = deployProblems({
            family: "rp2040",
            description: "Raspberry Pi Pico W",
            boards: [],
            internet: undefined,
        })
        expect(lines[1]).toContain("no Raspberry Pi device on USB")
        expect(lines[1]).toContain("hold BOOTSEL while plugging it in")
    })
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
