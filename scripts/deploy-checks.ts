/** Pure checks for scripts/deploy.ts: what a failed devs command means, and settings a board needs. */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"

/** One line a user can act on for a failed `devs flash`/`devs devtools`, or undefined when it worked. */
export function explainDeployFailure(code: number, output: string): string | undefined {
    const crashed = /^\s+at |Error: /m.test(output)
    if (code === 0 && !crashed) return undefined
    if (/ENOTFOUND|fetch failed|EAI_AGAIN|ECONNREFUSED.*github|getaddrinfo/i.test(output))
        return (
            "could not download the DeviceScript runtime from GitHub. Flashing needs internet access; " +
            "connect this machine, or flash a runtime you downloaded with `npx devs flash --file <bin-or-uf2>`."
        )
    if (/udevadm|serialport|No serial|no device|not found.*port|ENOENT.*tty/i.test(output))
        return (
            "no board found on USB/serial (or this machine cannot list serial ports: udevadm is missing). " +
            "Plug the board in with a data cable, check that your user may open the serial port, and try again."
        )
    if (/esptool/i.test(output))
        return "esptool is missing: install it with `python3 -m pip install esptool` (or rerun with the CLI's --install)."
    const last = output
        .split("\n")
        .map(line => line.trim())
        .filter(line => line && !line.startsWith("at ") && !line.startsWith("node:"))
        .pop()
    return `the DeviceScript CLI failed (exit ${code})${last ? `: ${last}` : ""}`
}

/** The settings a deploy sends: .env.defaults overridden by .env.local (same rules as the CLI). */
export function readDeviceSettings(root: string): Record<string, string> {
    const settings: Record<string, string> = {}
    for (const file of [".env.defaults", ".env.local"]) {
        const path = join(root, file)
        if (!existsSync(path)) continue
        for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
            // like the CLI: a line holding "#" anywhere is a comment
            if (line.includes("#")) continue
            const m = /^\s*([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line)
            if (m) settings[m[1]] = m[2].trim().replace(/^"(.*)"$/, "$1")
        }
    }
    return settings
}

/** Problems that would leave a deployed board unable to reach the server. */
export function settingsWarnings(settings: Record<string, string>, board: string): string[] {
    const warnings: string[] = []
    if (!settings.WIFI_SSID)
        warnings.push(
            "WIFI_SSID is not set in .env.local: the board will not join a network (add WIFI_SSID and WIFI_PWD)"
        )
    const host = settings.MQTT_HOST ?? "127.0.0.1"
    if (/^(127\.|localhost$)/.test(host))
        warnings.push(
            `MQTT_HOST is ${host}: on a board that is the board itself. Set MQTT_HOST in .env.local to the address ` +
                "of the machine running `npm start -- --mqtt-host 0.0.0.0` (or your broker)"
        )
    if (board === "picow_nightlight" && settings.MQTT_PROTO === "tls")
        warnings.push("MQTT_PROTO is tls, but the Pico W runtime has no TLS: use tcp")
    return warnings
}
