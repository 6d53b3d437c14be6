/** Each option's raw text from its flag, else its variable. Pure. */
import { parseArgs, type ParseArgsConfig } from "node:util"
import type { OptionSpec } from "./option-spec"
import { OPTIONS, parseOption, type OptionName, type OptionValue } from "./options"
import { SettingsError, type Source } from "./values"

export interface GivenOptions {
    source(name: OptionName): Source | undefined
    value<K extends OptionName>(name: K, fallback?: OptionValue<K>): OptionValue<K>
    onlyFor(kind: "embedded" | "external"): Partial<Record<OptionName, Source>>
}

const NAMES = Object.keys(OPTIONS) as OptionName[]
const spec = (name: OptionName): OptionSpec<unknown> => OPTIONS[name]

const PARSE_ARGS_OPTIONS: NonNullable<ParseArgsConfig["options"]> = Object.fromEntries(
    NAMES.flatMap(name => {
        const { flag, arg, short } = spec(name)
        if (flag === undefined) return []
        return [[flag, { type: arg === undefined ? "boolean" : "string", ...(short && { short }) }]]
    })
)

export function readOptions(argv: string[], env: Record<string, string | undefined>): GivenOptions {
    const flags = parseFlags(argv)
    const source = (name: OptionName): Source | undefined => {
        const { flag, env: variable, switchValue } = spec(name)
        const given = flag === undefined ? undefined : flags[flag]
        if (typeof given === "string") return { value: given, name: `--${flag}` }
        if (given === true) return { value: switchValue ?? "1", name: `--${flag}` }
        // An empty variable (`NIGHTLIGHT_THRESHOLD= npm start`) means "not set", as shells' users expect.
        const value = variable === undefined ? undefined : env[variable]
        return value !== undefined && value !== "" ? { value, name: variable! } : undefined
    }
    return {
        source,
        value: (name, fallback) => parseOption(name, source(name), fallback),
        onlyFor: kind =>
            Object.fromEntries(
                NAMES.filter(name => spec(name).onlyFor === kind).flatMap(name => {
                    const given = source(name)
                    return given ? [[name, given]] : []
                })
            ),
    }
}

function parseFlags(argv: string[]): Record<string, string | boolean | undefined> {
    try {
        const { values } = parseArgs({ args: argv, options: PARSE_ARGS_OPTIONS, strict: true, allowPositionals: false })
        return values as Record<string, string | boolean | undefined>
    } catch (error) {
        throw new SettingsError(describeParseArgsError(error))
    }
}

/** parseArgs' own messages are multi-line and version-dependent; say the same thing in one stable line. */
function describeParseArgsError(error: unknown): string {
    const err = error as { code?: string; message?: string }
    const message = String(err.message ?? error)
    const name = /'(-[^' ]+)/.exec(message)?.[1] ?? /'([^']*)'/.exec(message)?.[1] ?? "?"
    switch (err.code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
            return `unknown option ${name}`
        case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
            return `unexpected argument "${name}" (options start with --)`
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
            if (message.includes("does not take an argument")) return `option ${name} does not take a value`
            if (message.includes("ambiguous"))
                return `option ${name} is missing its value (for a value starting with "-", write ${name}=VALUE)`
            return `option ${name} is missing its value`
        default:
            return message.split("\n")[0]
    }
}
