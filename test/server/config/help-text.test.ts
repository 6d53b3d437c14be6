import { describe, expect, test } from "vitest"
import { HELP_TEXT, flagColumn, helpLines } from "../../../server/config/help-text"
import type { OptionSpec } from "../../../server/config/option-spec"
import { OPTIONS } from "../../../server/config/options"

const specs: OptionSpec<unknown>[] = Object.values(OPTIONS)
const lines = HELP_TEXT.split("\n")

describe("the --help text, made from the option table", () => {
    test("one line per flag with its variable, in the table's order, and every default filled in", () => {
        const flagLines = lines.filter(line => /^ {2}-/.test(line))
        const withFlag = specs.filter(spec => spec.flag !== undefined)
        const width = Math.max(...withFlag.map(spec => flagColumn(spec).length))
        expect(flagLines.map(line => line.slice(2, 2 + width).trim())).toEqual(withFlag.map(flagColumn))
        for (const [i, spec] of withFlag.entries()) {
            if (spec.env !== undefined) expect(flagLines[i].endsWith(` ${spec.env}${spec.envValues ?? ""}`)).toBe(true)
            expect(flagLines[i]).toContain(helpLines(spec)[0])
        }
        expect(HELP_TEXT).not.toMatch(/\{(default|min|max)\}/)
        expect(HELP_TEXT).toMatch(/--threshold N +LED on when light < N; 1\.\.1023 \(default 300\)/)
        expect(HELP_TEXT).toMatch(/--data-dir DIR +registry, history and saved settings \(default \.\/data\)/)
    })

    test("names no variable the table does not declare", () => {
        const declared = new Set(specs.map(spec => spec.env))
        const named = HELP_TEXT.match(/NIGHTLIGHT_[A-Z_]+/g) ?? []
        expect(named.filter(variable => !declared.has(variable))).toEqual([])
    })

    test("a placeholder without its value is a mistake said at once", () => {
        const spec: OptionSpec<string | undefined> = {
            flag: "x",
            default: undefined,
            help: ["the x (default {default})"],
            parse: (_, fallback) => fallback,
        }
        expect(() => helpLines(spec as OptionSpec<unknown>)).toThrow("the help of --x has {default} but no default")
    })
})
