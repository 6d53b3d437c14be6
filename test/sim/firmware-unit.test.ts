// Firmware unit tests (src/*.test.ts, @devicescript/test) run in the DeviceScript VM. They live in the
// "sim" project: `devs run` compiles into .devicescript/bin, which parallel builds would overwrite.
import { readdirSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { runFirmwareTests } from "../helpers/firmware-tests"

const firmwareTestFiles = readdirSync("src")
    .filter(f => f.endsWith(".test.ts"))
    .map(f => `src/${f}`)

describe("firmware unit tests in the DeviceScript VM", () => {
    it("finds the firmware test files", () => {
        expect(firmwareTestFiles).toEqual(
            expect.arrayContaining(["src/light.test.ts", "src/protocol.test.ts", "src/config.test.ts"])
        )
    })

    for (const file of firmwareTestFiles) {
        it(`${file} passes`, async () => {
            const run = await runFirmwareTests(file)
            expect(run.ok, run.output).toBe(true)
            console.log(`${file}: ${run.passed}/${run.total} firmware tests passed`)
        })
    }
})

describe("the firmware test runner itself", () => {
    it("reports a failing firmware test as a failure", async () => {
        const run = await runFirmwareTests("test/fixtures/failing.fwtest.ts")
        expect(run.ok).toBe(false)
        expect(run.exitCode).not.toBe(0)
    })

    it("reports a file that runs no test as a failure", async () => {
        const run = await runFirmwareTests("test/fixtures/empty.fwtest.ts")
        expect(run.total).toBe(0)
        expect(run.ok).toBe(false)
    })
})
