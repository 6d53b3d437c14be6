/**
 * Builds the firmware for each board. `devs build` always writes `.devicescript/bin/` (docs/devicescript.md
 * §1), so each build is copied to `built/<board>/` before the next one starts; the simulator runs
 * `built/xiao_nightlight/bytecode.devs`, which a firmware unit-test run cannot overwrite.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { projectRoot } from "./paths"
import { runDevs } from "./processes"

export interface FirmwareTarget {
    /** Board id: `boards/<board>.board.json`. */
    board: string
    /** Entry point under src/. */
    entry: string
    description: string
}

export const FIRMWARE_TARGETS: FirmwareTarget[] = [
    { board: "xiao_nightlight", entry: "src/main.ts", description: "Seeed XIAO ESP32-C3 (and the simulator)" },
    { board: "devkitc_nightlight", entry: "src/main_devkitc.ts", description: "Espressif ESP32-DevKitC" },
    { board: "picow_nightlight", entry: "src/main_picow.ts", description: "Raspberry Pi Pico W" },
]

/** The build the simulator runs. */
export const SIM_TARGET = FIRMWARE_TARGETS[0]

const devsOut = join(projectRoot, ".devicescript", "bin")

export function bytecodePath(target: FirmwareTarget): string {
    return join(projectRoot, "built", target.board, "bytecode.devs")
}

export interface BuildResult {
    target: FirmwareTarget
    bytes: number
    output: string
}

/** Runs `devs build <entry>` and copies the result to built/<board>/. Rejects with the compiler's output. */
export async function buildFirmware(target: FirmwareTarget): Promise<BuildResult> {
    const { code, output } = await runDevs(["build", target.entry, "--stats"])
    if (code !== 0) throw new Error(`devs build ${target.entry} failed (exit ${code}):\n${output}`)
    const dir = join(projectRoot, "built", target.board)
    mkdirSync(dir, { recursive: true })
    for (const file of ["bytecode.devs", "bytecode-dbg.json", "bytecode-sizes.md"])
        copyFileSync(join(devsOut, file), join(dir, file))
    return { target, bytes: statSync(bytecodePath(target)).size, output }
}

/** True when the build is missing or older than any firmware source, board or settings file. */
export function firmwareIsStale(target: FirmwareTarget): boolean {
    const built = bytecodePath(target)
    if (!existsSync(built)) return true
    const builtAt = statSync(built).mtimeMs
    const sources = [
        ...listFiles(join(projectRoot, "src")),
        ...listFiles(join(projectRoot, "boards")),
        join(projectRoot, "devsconfig.json"),
    ]
    return sources.some(file => existsSync(file) && statSync(file).mtimeMs > builtAt)
}

/** The bytecode the simulator deploys, rebuilt first when a source changed since the last build. */
export async function simulatorBytecode(): Promise<Uint8Array> {
    if (firmwareIsStale(SIM_TARGET)) await buildFirmware(SIM_TARGET)
    return readFileSync(bytecodePath(SIM_TARGET))
}

function listFiles(dir: string): string[] {
    if (!existsSync(dir)) return []
    return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter(entry => entry.isFile())
        .map(entry => join(entry.parentPath, entry.name))
}
