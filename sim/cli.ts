/**
 * `npm run device -- --broker mqtt://host:port --id ID [--light N]`: runs only the simulated
 * nightlight (real firmware in the DeviceScript VM) against any MQTT broker and prints every LED change.
 */
import { parseArgs } from "node:util"
import { SimulatedNightlight, type SimLog } from "./device"
import { LIGHT_MAX } from "../server/protocol/contract"

const HELP = `Usage: npm run device -- --broker mqtt://host:port --id ID [options]

Runs one simulated nightlight: the real firmware in the DeviceScript VM with a virtual light sensor
and LED. It talks the lesson's protocol to any MQTT broker and server.

Options:
  --broker URL      broker to connect to: mqtt://host:port or mqtts://host:port (user:pass@ allowed)
                    (default: mqtt://127.0.0.1:1883)
  --id ID           device id: topics ID/telemetry and ID/commands (default: nightlight-sim)
  --light N         fixed light level 0..${LIGHT_MAX}; without it the light follows a 60 s day/night cycle
  --report-ms MS    telemetry interval in ms until a server's config sets one (default: 2000)
  --verbose         also print the DeviceScript VM's own log
  -h, --help        show this help
`

function fail(message: string): never {
    console.error(`error: ${message}\nRun with --help for usage.`)
    process.exit(2)
}

function parse() {
    try {
        return parseArgs({
            options: {
                broker: { type: "string", default: "mqtt://127.0.0.1:1883" },
                id: { type: "string", default: "nightlight-sim" },
                light: { type: "string" },
                "report-ms": { type: "string" },
                verbose: { type: "boolean", default: false },
                help: { type: "boolean", short: "h", default: false },
            },
            strict: true,
            allowPositionals: false,
        }).values
    } catch (e) {
        fail((e as Error).message)
    }
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
    const n = Number(text)
    if (!/^\d+$/.test(text) || n < min || n > max)
        fail(`--${flag} must be a whole number in ${min}..${max}, got "${text}"`)
    return n
}

const args = parse()
if (args.help) {
    console.log(HELP)
    process.exit(0)
}
const light = args.light === undefined ? "daylight" : wholeNumber("light", args.light, 0, LIGHT_MAX)
const reportMs =
    args["report-ms"] === undefined ? undefined : wholeNumber("report-ms", args["report-ms"], 100, 3_600_000)

const stamp = () => new Date().toISOString().slice(11, 23)
const log: SimLog = {
    debug: msg => args.verbose && console.log(`${stamp()} ${msg}`),
    info: msg => console.log(`${stamp()} ${msg}`),
    warn: msg => console.warn(`${stamp()} WARN ${msg}`),
    error: msg => console.error(`${stamp()} ERROR ${msg}`),
}

let device: SimulatedNightlight
try {
    device = new SimulatedNightlight({
        brokerUrl: args.broker!,
        deviceId: args.id!,
        light,
        reportMs,
        logger: log,
        showFirmwareLog: true,
    })
} catch (e) {
    fail((e as Error).message)
}

let stopping = false
async function shutdown(signal: string) {
    if (stopping) process.exit(1)
    stopping = true
    log.info(`${signal}: stopping the simulated device`)
    await device.stop()
    process.exit(0)
}
process.on("SIGINT", () => void shutdown("SIGINT"))
process.on("SIGTERM", () => void shutdown("SIGTERM"))

try {
    await device.start()
    log.info(
        light === "daylight"
            ? "light follows a 60 s day/night cycle; Ctrl+C to stop"
            : `light fixed at ${light}; Ctrl+C to stop`
    )
} catch (e) {
    log.error(`could not start the simulated device: ${(e as Error).message}`)
    process.exit(1)
}
