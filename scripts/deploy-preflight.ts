/**
 * What `npm run deploy` needs, checked before the DeviceScript CLI starts: without a board,
 * `devs devtools` waits for one for ever, and `devs flash` fails deep in a download or a serial-port
 * listing. A board on USB, and for flashing, GitHub (the runtime is downloaded from its releases).
 * The probes look; deployProblems() turns what they saw into the lines a person reads.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

export type ChipFamily = "esp32" | "rp2040"

/** Where the CLI downloads the runtime from (its boards' $fwUrl are GitHub releases). */
export const RUNTIME_HOST = "https://github.com"
/** How long the internet probe waits for an answer (ms). */
export const INTERNET_TIMEOUT_MS = 5000

/** Raspberry Pi's USB vendor id: a Pico W in BOOTSEL mode or running the DeviceScript runtime. */
const RASPBERRY_PI_USB_VENDOR = "2e8a"

/**
 * The USB devices a board of `family` shows up as, or undefined where this platform cannot tell (the
 * CLI then looks for itself). ESP32 boards are USB serial ports; a Pico W is a Raspberry Pi USB device.
 */
export function boardsOnUsb(family: ChipFamily, platform: NodeJS.Platform = process.platform): string[] | undefined {
    if (platform === "linux")
        return family === "esp32"
            ? listDir("/dev", /^tty(USB|ACM)\d+$/).map(name => `/dev/${name}`)
            : usbDevicesOfVendor(RASPBERRY_PI_USB_VENDOR)
    if (platform === "darwin") {
        if (family === "esp32")
            return listDir("/dev", /^cu\.(usbserial|usbmodem|wchusbserial|SLAB_USBtoUART)/).map(name => `/dev/${name}`)
        // a Pico W in BOOTSEL mode is a drive; one running the runtime cannot be told apart without libusb
        return existsSync("/Volumes/RPI-RP2") ? ["/Volumes/RPI-RP2"] : undefined
    }
    return undefined
}

function listDir(dir: string, pattern: RegExp): string[] {
    try {
        return readdirSync(dir).filter(name => pattern.test(name))
    } catch {
        return []
    }
}

/** Linux: USB devices with this vendor id, from sysfs (no sysfs USB tree: no USB devices at all). */
function usbDevicesOfVendor(vendor: string): string[] {
    const root = "/sys/bus/usb/devices"
    return listDir(root, /./).filter(name => {
        try {
            return readFileSync(join(root, name, "idVendor"), "utf8").trim() === vendor
        } catch {
            return false
        }
    })
}

export type InternetCheck = { ok: true } | { ok: false; why: string }

/** Whether GitHub answers at all (any HTTP status will do), within INTERNET_TIMEOUT_MS. */
export async function reachGitHub(timeoutMs = INTERNET_TIMEOUT_MS): Promise<InternetCheck> {
    try {
        await fetch(RUNTIME_HOST, { method: "HEAD", redirect: "manual", signal: AbortSignal.timeout(timeoutMs) })
        return { ok: true }
    } catch (error) {
        const err = error as Error & { cause?: { code?: string; message?: string } }
        if (err.name === "TimeoutError") return { ok: false, why: `no answer within ${timeoutMs / 1000} s` }
        return { ok: false, why: err.cause?.message ?? err.cause?.code ?? err.message }
    }
}

export interface PreflightFacts {
    family: ChipFamily
    /** The board's name for people, e.g. "Seeed XIAO ESP32-C3". */
    description: string
    /** From boardsOnUsb(). */
    boards: string[] | undefined
    /** undefined: not needed (--skip-flash). */
    internet: InternetCheck | undefined
}

/**
 * Why the deploy cannot work, one line per missing thing (empty: go on). The first line says which
 * are missing; each next line says how to put it right.
 */
export function deployProblems(facts: PreflightFacts): string[] {
    const missing: string[] = []
    if (facts.boards !== undefined && facts.boards.length === 0) {
        const where =
            facts.family === "esp32"
                ? "no USB serial port (such as /dev/ttyUSB0 or /dev/ttyACM0)"
                : "no Raspberry Pi device on USB"
        const bootsel = facts.family === "rp2040" ? " (to flash the runtime, hold BOOTSEL while plugging it in)" : ""
        missing.push(
            `no board: ${where}. Plug the ${facts.description} in with a data cable${bootsel}; ` +
                "a charge-only cable shows no port."
        )
    }
    if (facts.internet && !facts.internet.ok)
        missing.push(
            `no internet: ${RUNTIME_HOST.replace("https://", "")} cannot be reached (${facts.internet.why}). ` +
                "Flashing downloads the DeviceScript runtime from GitHub: connect this machine, or flash a " +
                "runtime you downloaded with `npx devs flash --file <bin-or-uf2>` and deploy with --skip-flash."
        )
    if (missing.length === 0) return []
    const which = missing.map(line => line.slice(0, line.indexOf(":"))).join(" and ")
    return [`deploy stopped before it started: ${which}.`, ...missing.map(line => `  ${line}`)]
}
