/**
 * The README's facts that come from the code: its flag table row by row against the option table (flag,
 * variable, default), the history's
 * `points` bounds, when the simulated LED comes on and goes off, and the install scripts `npm ci` runs.
 * A change to one of them without the README fails here.
 */
import { readFileSync } from "node:fs"
import { describe, expect, test } from "vitest"
import { LIMITS } from "../../server/http/validation"
import { flagColumn } from "../../server/config/help-text"
import { shownDefault, type OptionSpec } from "../../server/config/option-spec"
import { DEFAULTS, OPTIONS } from "../../server/config/options"
import { DAYLIGHT_DEFAULTS, daylight } from "../../sim/daylight"

const readme = readFileSync("README.md", "utf8")
/** The rows of the server's flag table (README "The server"), cut into cells (`\|` is no border). */
const flagRows = readme
    .split("\n")
    .filter(line => /^\| `--?[a-z]/.test(line))
    .map(line =>
        line
            .split(/(?<!\\)\|/)
            .slice(1, -1)
            .map(cell => cell.trim())
    )
const specs: OptionSpec<unknown>[] = Object.values(OPTIONS)
const withFlag = specs.filter(spec => spec.flag !== undefined)

describe("the README", () => {
    test("its flag table has one row per flag, in the order of --help", () => {
        // `-h, --help` is written `-h`, `--help` in the table
        const flagsInReadme = flagRows.map(([flag]) => flag.replace(/`/g, ""))
        expect(flagsInReadme).toEqual(withFlag.map(flagColumn))
    })

    test("each row gives the option's variable and default as the code has them", () => {
        const wrong = withFlag.flatMap(spec => {
            const [, variable, shown] = flagRows.find(([flag]) => flag.replace(/`/g, "") === flagColumn(spec)) ?? []
            const expected = {
                // a switch's variable with the value the switch stands for
                variable: spec.env === undefined ? "" : `\`${spec.env}${spec.arg ? "" : `=${spec.switchValue}`}\``,
                // a value as code, a switch as off or "... on", no default as an explanation in parentheses
                default: spec.env === undefined ? "" : readmeDefault(spec),
            }
            const actual = { variable, default: shown }
            const ok =
                actual.variable === expected.variable &&
                (expected.default instanceof RegExp
                    ? expected.default.test(actual.default ?? "")
                    : actual.default === expected.default)
            return ok ? [] : [{ flag: spec.flag, expected: String(expected.default), ...actual }]
        })
        expect(wrong).toEqual([])
    })

    test("its flag table names the variables that have no flag", () => {
        const table = flagRows.flat().join(" ")
        const missing = specs.filter(spec => spec.flag === undefined && !table.includes(`\`${spec.env}\``))
        expect(missing.map(spec => spec.env)).toEqual([])
    })

    test("gives the history's points bounds and default", () => {
        const row = readme.split("\n").find(line => line.includes("/history?from=MS&to=MS&points=N"))
        expect(row).toContain(`${LIMITS.pointsMin} to ${LIMITS.pointsMax}, default 1000`)
    })

    test("says when the simulated LED comes on and how long it stays on", () => {
        // the first step below the threshold, then the first at or above threshold + band
        const steps = Array.from({ length: DAYLIGHT_DEFAULTS.cycleMs / DAYLIGHT_DEFAULTS.stepMs }, (_, i) => {
            const t = i * DAYLIGHT_DEFAULTS.stepMs
            return { t, light: daylight(t) }
        })
        const on = steps.find(s => s.light < DEFAULTS.threshold)!.t
        const off = steps.find(s => s.t > on && s.light >= DEFAULTS.threshold + DEFAULTS.band)!.t
        const text = readme.replace(/\s+/g, " ")
        expect(text).toContain(`about ${Math.round(on / 1000)} seconds in it gets dark and the LED comes on`)
        expect(text).toContain(`about ${Math.round((off - on) / 1000)} seconds later`)
    })

    test("package.json approves the install scripts npm ci runs, so npm 11 does not warn", () => {
        const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as {
            packages: Record<string, { hasInstallScript?: boolean }>
        }
        const withScripts = Object.entries(lock.packages)
            .filter(([path, p]) => path !== "" && p.hasInstallScript)
            .map(([path]) => path.replace(/^.*node_modules\//, ""))
        const { allowScripts = {} } = JSON.parse(readFileSync("package.json", "utf8")) as {
            allowScripts?: Record<string, boolean>
        }
        expect(withScripts.length).toBeGreaterThan(0)
        expect(withScripts.filter(name => allowScripts[name] !== true)).toEqual([])
        expect(readme).toContain("allowScripts")
    })
})

/** The default cell a row should have for this option. */
function readmeDefault(spec: OptionSpec<unknown>): string | RegExp {
    if (spec.arg === undefined) return spec.default === true ? / on$/ : "off"
    const shown = shownDefault(spec)
    return shown === undefined ? /^\(.+\)$/ : `\`${shown}\``
}
