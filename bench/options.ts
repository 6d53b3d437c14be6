/**
 * `npm run bench` flags: the defaults (the target scenario, repeated, plus the baselines and the
 * saturation search, in about 12 minutes on a 2-core machine), and their checks, which name the flag.
 */
import { spawnSync } from "node:child_process"
import { FIRMWARE_BENCH } from "./firmware"
import { SYSTEM_NAMES, type SystemName } from "./systems"

export interface Options {
    devices: number
    rates: number[]
    seconds: number
    repeats: number
    systems: SystemName[]
    /** ours, the lesson, the lesson on aedes and the floor (those in `systems`) take turns in each repeat (paired.ts) */
    paired: boolean
    saturation: boolean
    saturationStart: number
    saturationFactor: number
    saturationSteps: number
    saturationRefine: number
    saturationSeconds: number
    /** 1, 2 and 3 of our servers sharing one Mosquitto (bench/scaleout.ts) */
    scaleOut: boolean
    scaleOutRepeats: number
    /** light toggles of the real-firmware section; 0: skipped */
    firmware: number
}

export const DEFAULTS: Readonly<Options> = {
    devices: 10_000, // simulated devices, one MQTT connection each: the target fleet
    rates: [500, 2000, 5000], // readings/s offered by the whole fleet, one step each (5000: one per 2 s each)
    seconds: 5, // s per step
    repeats: 5, // runs of each step: five rounds give the paired ratios a median and an IQR
    systems: [...SYSTEM_NAMES],
    paired: true,
    saturation: true,
    saturationStart: 2000, // readings/s of the search's first step
    saturationFactor: 1.5, // each next step offers this many times more
    saturationSteps: 10, // rates of the climb at most per system (2000 × 1.5^9 ≈ 77,000/s)
    saturationRefine: 2, // midpoints tried below the first rate that failed (×1.5 → ×1.11 resolution)
    saturationSeconds: 3, // s per search step
    scaleOut: true,
    scaleOutRepeats: 2, // runs of each server count (each is a saturation search of its own)
    firmware: 20, // toggles
}

/** Bounds that keep every loop of the bench finite. */
const LIMITS = { maxSeconds: 600, maxRepeats: 20, maxSaturationSteps: 20, maxRate: 1_000_000, fdReserve: 200 }

export const HELP = `usage: npm run bench -- [options]
  --devices N            simulated devices, one MQTT connection each (default ${DEFAULTS.devices})
  --rates A,B,...        offered readings/s of the whole fleet, one step each (default ${DEFAULTS.rates.join(",")})
  --seconds S            length of each step (default ${DEFAULTS.seconds})
  --repeats N            runs of each step; min/median/max are reported (default ${DEFAULTS.repeats})
  --systems LIST         ${SYSTEM_NAMES.join(",")} (default all): our server, the lesson's stack,
                         the lesson's server on aedes, our server on Mosquitto, Mosquitto alone and aedes alone relaying to one subscriber, and the floor:
                         a bare Node endpoint answering our protocol (no broker, no database)
  --sequential           run ours, the lesson (on Mosquitto and on aedes) and the floor one after the other
                         (default: paired: each started once with its own fleet, one short step of each
                         in turn per repeat, and each round's ratios to the lesson; see bench/README.md)
  --no-saturation        skip the saturation search (on by default)
  --saturation-start R   its first rate (default ${DEFAULTS.saturationStart}/s), ×--saturation-factor F
                         (default ${DEFAULTS.saturationFactor}) per step, at most --saturation-steps N
                         (default ${DEFAULTS.saturationSteps}) of --saturation-seconds S (default ${DEFAULTS.saturationSeconds}),
                         then --saturation-refine N midpoints below the rate that failed (default ${DEFAULTS.saturationRefine})
  --no-scale-out         skip 1, 2 and 3 servers sharing one Mosquitto (--mqtt-share-group; on by default),
                         each run --scale-out-repeats N times (default ${DEFAULTS.scaleOutRepeats})
  --firmware N           toggles of the real firmware's light → LED test, with ours and the lesson's
                         server (default ${DEFAULTS.firmware}; 0 skips it; needs DeviceScript devtools' ports 8081/8082 free)
  --quick                100 devices, rate 200, 3 s, 1 run, no saturation search nor scale-out: a smoke test
  -h, --help`

/** A flag's number in min..max (whole when asked); an Error naming the flag otherwise. */
export function numberFlag(flag: string, value: string | undefined, min: number, max: number, whole = false): number {
    const n = Number(value)
    if (
        value === undefined ||
        value === "" ||
        !Number.isFinite(n) ||
        n < min ||
        n > max ||
        (whole && !Number.isInteger(n))
    )
        throw new Error(
            `${flag} needs ${whole ? "a whole number" : "a number"} in ${min}..${max}, got ${value ?? "nothing"}`
        )
    return n
}

/** The options, or undefined for --help; throws an Error naming the flag for anything wrong. */
export function parseArgs(argv: string[]): Options | undefined {
    const options: Options = { ...DEFAULTS, rates: [...DEFAULTS.rates], systems: [...DEFAULTS.systems] }
    const number = numberFlag
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]
        const value = () => argv[++i]
        switch (arg) {
            case "-h":
            case "--help":
                return undefined
            case "--quick":
                Object.assign(options, {
                    devices: 100,
                    rates: [200],
                    seconds: 3,
                    repeats: 1,
                    saturation: false,
                    scaleOut: false,
                })
                break
            case "--devices":
                options.devices = parseDevices(value())
                break
            case "--rates":
                options.rates = (value() ?? "").split(",").map(r => number(arg, r, 1, LIMITS.maxRate))
                break
            case "--seconds":
                options.seconds = number(arg, value(), 0.5, LIMITS.maxSeconds)
                break
            case "--repeats":
                options.repeats = number(arg, value(), 1, LIMITS.maxRepeats, true)
                break
            case "--systems":
                options.systems = parseSystems(value())
                break
            case "--paired":
                options.paired = true
                break
            case "--sequential":
                options.paired = false
                break
            case "--saturation":
                options.saturation = true
                break
            case "--no-saturation":
                options.saturation = false
                break
            case "--saturation-start":
                options.saturationStart = number(arg, value(), 1, LIMITS.maxRate)
                break
            case "--saturation-factor":
                options.saturationFactor = number(arg, value(), 1.05, 10)
                break
            case "--saturation-steps":
                options.saturationSteps = number(arg, value(), 1, LIMITS.maxSaturationSteps, true)
                break
            case "--saturation-refine":
                options.saturationRefine = number(arg, value(), 0, LIMITS.maxSaturationSteps, true)
                break
            case "--saturation-seconds":
                options.saturationSeconds = number(arg, value(), 0.5, LIMITS.maxSeconds)
                break
            case "--scale-out":
                options.scaleOut = true
                break
            case "--no-scale-out":
                options.scaleOut = false
                break
            case "--scale-out-repeats":
                options.scaleOutRepeats = number(arg, value(), 1, LIMITS.maxRepeats, true)
                break
            case "--firmware":
                options.firmware = number(arg, value(), 0, FIRMWARE_BENCH.maxToggles, true)
                break
            default:
                throw new Error(`unknown option ${arg}`)
        }
    }
    return options
}

function parseSystems(list: string | undefined): SystemName[] {
    const names = (list ?? "").split(",").filter(Boolean)
    if (names.length === 0) throw new Error(`--systems needs a list of ${SYSTEM_NAMES.join(",")}`)
    for (const name of names)
        if (!(SYSTEM_NAMES as readonly string[]).includes(name))
            throw new Error(`--systems: unknown system ${name} (known: ${SYSTEM_NAMES.join(", ")})`)
    // in the usual order, each once
    return SYSTEM_NAMES.filter(name => names.includes(name))
}

/** One connection per device in this process: at most the open-file limit, less some for everything else. */
function parseDevices(value: string | undefined): number {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 1) throw new Error(`--devices needs a whole number ≥ 1, got ${value ?? "nothing"}`)
    const shell = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" })
    const limit = Number(shell.stdout?.trim())
    if (Number.isFinite(limit) && n > limit - LIMITS.fdReserve)
        throw new Error(
            `--devices ${n}: each device is a connection of this process, which may open ${limit} files ` +
                `(ulimit -n): use at most ${limit - LIMITS.fdReserve}, or raise the limit`
        )
    return n
}
