/**
 * Runs a DeviceScript test file in the VM: `devs run FILE --test --test-self-exit`. Without that flag the
 * tests never run and the VM exits 0 (docs/devicescript.md §4), so a run only passes when it exits 0 AND
 * reports at least one test with none failing.
 */
import { runDevs } from "../../sim/processes"

export interface FirmwareTestRun {
    file: string
    exitCode: number | null
    total: number
    passed: number
    errors: number
    output: string
    /** exit 0, at least one test, every test passed */
    ok: boolean
}

export async function runFirmwareTests(file: string, timeoutMs = 60_000): Promise<FirmwareTestRun> {
    const { code, output } = await runDevs(["run", file, "--test", "--test-self-exit"], timeoutMs)
    const summary = /tests: (\d+), pass: (\d+), error: (\d+)/.exec(output)
    const [total, passed, errors] = summary ? summary.slice(1).map(Number) : [0, 0, 0]
    const ok = code === 0 && total > 0 && passed === total && errors === 0
    return { file, exitCode: code, total, passed, errors, output, ok }
}
