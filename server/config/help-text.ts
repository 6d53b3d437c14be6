/** The `--help` text, made from the option table (options.ts). Pure. */
import { shownDefault, type OptionSpec } from "./option-spec"
import { OPTIONS } from "./options"

/** The flag column: `--mqtt-port PORT`, `-h, --help`. */
export function flagColumn(spec: OptionSpec<unknown>): string {
    const flag = `--${spec.flag}${spec.arg === undefined ? "" : ` ${spec.arg}`}`
    return spec.short === undefined ? flag : `-${spec.short}, ${flag}`
}

/** The help lines with their `{default}`, `{min}` and `{max}` filled in. */
export function helpLines(spec: OptionSpec<unknown>): string[] {
    const fill: Record<string, string | undefined> = {
        default: shownDefault(spec),
        min: spec.min?.toString(),
        max: spec.max?.toString(),
    }
    return spec.help.map(line =>
        line.replace(/\{(default|min|max)\}/g, (_, key: string) => {
            const value = fill[key]
            if (value === undefined) throw new Error(`the help of --${spec.flag} has {${key}} but no ${key}`)
            return value
        })
    )
}

const SPECS: OptionSpec<unknown>[] = Object.values(OPTIONS)

const ROWS: [flag: string, what: string, variable: string][] = SPECS.filter(spec => spec.flag !== undefined).flatMap(
    spec => {
        const [first = "", ...more] = helpLines(spec)
        const variable = spec.env === undefined ? "" : spec.env + (spec.envValues ?? "")
        return [[flagColumn(spec), first, variable], ...more.map(line => ["", line, ""] as [string, string, string])]
    }
)

const FLAG_WIDTH = Math.max(...ROWS.map(([flag]) => flag.length))

export const HELP_TEXT = `Usage: npm start -- [options]      (or: tsx server/main.ts [options])

The nightlight server (IoT for Beginners lesson 4): reads {"light": N} from <id>/telemetry
and answers {"led_on": true|false} on <id>/commands when the LED must change (on when
light < threshold, off again when light >= threshold + band).
Without --mqtt-url it embeds its own MQTT broker; unless --no-sim it starts a simulated device.

Options (a flag wins over its environment variable):
${ROWS.map(([flag, what, variable]) => `  ${flag.padEnd(FLAG_WIDTH)} ${what.padEnd(58)} ${variable}`.trimEnd()).join("\n")}

--mqtt-url cannot be combined with --mqtt-host/--mqtt-port, which configure the embedded broker
(a flag of one kind does override the other kind's environment variables).
Exit codes: 0 after a clean stop (Ctrl-C), 1 when the server cannot start, 2 for bad options.`
