/**
 * The README's facts that come from the code: every flag of `--help` in its flag table, the history's
 * `points` bounds, when the simulated LED comes on and goes off, and the install scripts `npm ci` runs.
 * A change to one of them without the README fails here.
 */
import { readFileSync } from "node:fs"
import { describe, expect, test } from "vitest"
import { LIMITS } from "../../server/http/validation"
import { DEFAULTS, HELP_TEXT } from "../../server/config/options"
import { DAYLIGHT_DEFAULTS, daylight } from "../../sim/daylight"

const readme = readFileSync("README.md", "utf8")
/** The rows of the server's flag table (README "The server"). */
const flagRows = readme.split("\n").filter(line => /^\| `--?[a-z]/.test(line))

describe("the README", () => {
    test("its flag table has every flag of --help", () => {
        const flags = [...new Set(HELP_TEXT.match(/--[a-z][a-z-]+/g))]
        const missing = flags.filter(flag => !flagRows.some(row => row.includes(`\`${flag}`)))
        expect(missing).toEqual([])
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
