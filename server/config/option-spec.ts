/** One option's declaration: the help, the parser and the README's check are made from it. Pure. */
import { parseBoolean, parseIntegerIn, type Source } from "./values"

export interface OptionSpec<T> {
    /** The flag without its dashes; none for an option only a variable sets (a secret would show in `ps`). */
    flag?: string
    short?: string
    /** The name of the flag's value in the help (`PORT`); none: a switch, which takes no value. */
    arg?: string
    /** What a switch says when given, as its variable would: "1", or "0" for a `--no-...` flag. */
    switchValue?: "0" | "1"
    env?: string
    /** The variable's values as the help lists them after its name (`=0|1`). */
    envValues?: string
    default: T
    /** The default as the help and the README show it, where not the value itself (`./data`). */
    shown?: string
    /** Help lines, the first beside the flag; `{default}`, `{min}` and `{max}` are filled in. */
    help: string[]
    /** Given with the other kind of broker: an error. */
    onlyFor?: "embedded" | "external"
    min?: number
    max?: number
    /** A method, so that a table of specs of different types is a list of OptionSpec<unknown>. */
    parse(source: Source | undefined, fallback: T): T
}

export function option<T>(spec: OptionSpec<T>): OptionSpec<T> {
    return spec
}

export function integer(
    spec: Omit<OptionSpec<number>, "parse" | "min" | "max" | "arg"> & { arg?: string; min: number; max: number }
): OptionSpec<number> {
    return {
        arg: "N",
        ...spec,
        parse: (source, fallback) => parseIntegerIn(source, fallback, spec.min, spec.max),
    }
}

/** A flag without a value that turns something on (or, as `--no-...`, off); its variable takes 0/1/true/false. */
export function onOff(spec: Omit<OptionSpec<boolean>, "parse" | "switchValue">): OptionSpec<boolean> {
    return {
        switchValue: spec.flag?.startsWith("no-") ? "0" : "1",
        envValues: "=0|1",
        ...spec,
        parse: (source, fallback) => parseBoolean(source, fallback),
    }
}

export function shownDefault(spec: OptionSpec<unknown>): string | undefined {
    return spec.shown ?? (spec.default === undefined ? undefined : String(spec.default))
}
