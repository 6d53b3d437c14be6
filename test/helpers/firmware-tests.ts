/**
 * Runs a DeviceScript test file in the VM: `devs run FILE --test --test-self-exit`. Without
 * --test-self-exit the tests never run and the VM exits 0 (DESIGN.md §4), so a run only passes when it
 * exits 0 AND reports at least one test with none failing.
 */
import { spawn } from "node:child_process"
import { devsCli, projectRoot } from "../../sim/paths"

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

export function runFirmwareTests(file: string, timeoutMs = 60_000): Promise<FirmwareTestRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [devsCli, "run", file, "--test", "--test-self-exit"], {
            cwd: projectRoot,
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, NO_COLOR: "1" },
        })
        let output = ""
        child.stdout.on("data", d => (output += d))
        child.stderr.on("data", d => (output += d))
        const timer = setTimeout(() => {
            child.kill("SIGKILL")
            reject(new Error(`${file}: no result after ${timeoutMs} ms\n${output}`))
        }, timeoutMs)
        child.once("exit", exitCode => {
            clearTimeout(timer)
            const clean = output.replace(/\u001b\[[0-9;]*m/g, "")
            const summary = /tests: (\d+), pass: (\d+), error: (\d+)/.exec(clean)
            const [total, passed, errors] = summary ? summary.slice(1).map(Number) : [0, 0, 0]
            const ok = exitCode === 0 && total > 0 && passed === total && errors === 0
            resolve({ file, exitCode, total, passed, errors, output: clean, ok })
        })
    })
}
