/** `npm run bench:page` flags: the defaults (issue 17's fleet sizes and rate), and their checks. */
import { spawnSync } from "node:child_process"
import { numberFlag } from "./options"
import { PAGE_FLEET, PageFleet } from "./page-fleet"

export interface PageOptions {
    /** fleet sizes, one fresh server and page each */
    devices: number[]
    /** readings/s of the whole fleet during the lag measurement */
    rate: number
    /** s of the lag measurement */
    seconds: number
}

export const PAGE_DEFAULTS: Readonly<PageOptions> = {
    devices: [100, 1000, 10_000],
    rate: 5000, // one reading per device every 2 s at 10,000 devices
    seconds: 20,
}

/** Bounds that keep every loop finite; the probe's values (600 every 250 ms) last 150 s. */
const LIMITS = {
    maxDevices: 50_000,
    maxSizes: 10,
    maxRate: 50_000,
    maxSeconds: Math.floor((PAGE_FLEET.probeValues * PAGE_FLEET.probeEveryMs) / 1000),
}

export const PAGE_HELP = `usage: npm run bench:page -- [options]
  --devices A,B,...   fleet sizes, each with a fresh server and page (default ${PAGE_DEFAULTS.devices.join(",")})
  --rate R            readings/s of the whole fleet while the lag is measured (default ${PAGE_DEFAULTS.rate})
  --seconds S         length of the lag measurement (default ${PAGE_DEFAULTS.seconds}, at most ${LIMITS.maxSeconds})
  --quick             100 devices, 500 readings/s, 5 s: a smoke test (under a minute)
  -h, --help

Measures the dashboard in headless Chromium (${process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"}): first useful
screen, DOM elements, JS heap, and the lag of a probe device's light behind the live stream; prints a
table and writes test-results/bench-page.json (bench/README.md, "The dashboard page").`

/** The options, or undefined for --help; throws an Error naming the flag for anything wrong. */
export function parsePageArgs(argv: string[]): PageOptions | undefined {
    const options: PageOptions = { ...PAGE_DEFAULTS, devices: [...PAGE_DEFAULTS.devices] }
    const number = numberFlag
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]
        const value = () => argv[++i]
        switch (arg) {
            case "-h":
            case "--help":
                return undefined
            case "--quick":
                Object.assign(options, { devices: [100], rate: 500, seconds: 5 })
                break
            case "--devices": {
                const sizes = (value() ?? "").split(",").map(d => number(arg, d, 2, LIMITS.maxDevices, true))
                if (sizes.length > LIMITS.maxSizes) throw new Error(`--devices: at most ${LIMITS.maxSizes} sizes`)
                options.devices = sizes
                break
            }
            case "--rate":
                options.rate = number(arg, value(), 1, LIMITS.maxRate)
                break
            case "--seconds":
                options.seconds = number(arg, value(), 1, LIMITS.maxSeconds)
                break
            default:
                throw new Error(`unknown option ${arg}`)
        }
    }
    checkFileLimit(options)
    return options
}

/** The shared connections are file descriptors of this process: refuse a fleet that needs more than it may open. */
function checkFileLimit(options: PageOptions): void {
    const needed = Math.max(...options.devices.map(d => PageFleet.connectionsFor(options.rate, d))) + 1
    const shell = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" })
    const limit = Number(shell.stdout?.trim())
    if (Number.isFinite(limit) && needed + 200 > limit)
        throw new Error(`--rate ${options.rate}: the bench would open ${needed} connections; ulimit -n is ${limit}`)
}
