/**
 * A real Mosquitto for tests: found in PATH or /usr/sbin, started on a free port with a generated
 * config, restartable in place. Where it is missing, tests warn loudly and skip, except under CI
 * (CI set), where a missing broker is a failure: the point of CI is to run them.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { once } from "node:events"
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { HOST, within } from "./mqtt"

/** mosquitto lives in /usr/sbin on Debian, which is not on every user's PATH. */
export function findMosquitto(): string | undefined {
    const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"]
    for (const dir of dirs.filter(Boolean)) {
        const candidate = join(dir, "mosquitto")
        try {
            accessSync(candidate, constants.X_OK)
            return candidate
        } catch {
            // not here
        }
    }
    return undefined
}

export const MOSQUITTO = findMosquitto()
export const IN_CI = Boolean(process.env.CI) && !["0", "false"].includes(process.env.CI!.toLowerCase())
/** True when a Mosquitto test file must be skipped; says so loudly. */
export function skipWithoutMosquitto(file: string, what: string): boolean {
    if (MOSQUITTO || IN_CI) return false
    console.warn(
        "\n" +
            `!!! WARNING: ${file} SKIPPED: the mosquitto binary was not found.\n` +
            `!!! ${what} has NOT been tested on this machine.\n` +
            "!!! Install it (Debian/Ubuntu: sudo apt-get install -y mosquitto mosquitto-clients).\n" +
            "!!! Under CI (CI set) this file fails instead of skipping.\n"
    )
    return true
}

/** For a beforeAll: under CI a missing Mosquitto is an error, not a skip. */
export function requireMosquitto(): string {
    if (!MOSQUITTO) throw new Error("CI is set but the mosquitto binary is missing: apt-get install -y mosquitto")
    return MOSQUITTO
}

/** One Mosquitto process on a fixed port, restartable in place. */
export class Mosquitto {
    private process?: ChildProcess
    private readonly dir = mkdtempSync(join(tmpdir(), "nightlight-mosquitto-"))
    private log = ""

    constructor(readonly port: number) {}

    get url(): string {
        return `mqtt://${HOST}:${this.port}`
    }

    async start(): Promise<void> {
        const config = join(this.dir, "mosquitto.conf")
        writeFileSync(config, `listener ${this.port} ${HOST}\nallow_anonymous true\npersistence false\n`)
        const child = spawn(MOSQUITTO!, ["-c", config], { stdio: ["ignore", "ignore", "pipe"] })
        this.process = child
        child.stderr!.setEncoding("utf8")
        await within(
            5000,
            `mosquitto to start on port ${this.port}`,
            new Promise<void>((resolve, reject) => {
                child.stderr!.on("data", (chunk: string) => {
                    this.log += chunk
                    if (/mosquitto version \S+ running/.test(this.log)) resolve()
                })
                child.once("exit", code => reject(new Error(`mosquitto exited with ${code}: ${this.log}`)))
                child.once("error", reject)
            })
        )
    }

    async stop(): Promise<void> {
        const child = this.process
        this.process = undefined
        if (!child || child.exitCode !== null || child.signalCode !== null) return
        const exited = once(child, "exit")
        child.kill("SIGTERM")
        try {
            await within(5000, "mosquitto to stop", exited)
        } catch {
            child.kill("SIGKILL")
            await exited
        }
    }

    cleanup(): void {
        rmSync(this.dir, { recursive: true, force: true })
    }
}
