/**
 * `npm run build`: builds the firmware for every board into built/<board>/ and prints its size.
 * Also the `postinstall` step (with --quiet), since `npm install` removes the DeviceScript builtin
 * packages from node_modules until the next `devs build` (docs/devicescript.md §1).
 */
import { buildFirmware, FIRMWARE_TARGETS } from "../sim/firmware"

const quiet = process.argv.includes("--quiet")
let failed = 0
for (const target of FIRMWARE_TARGETS) {
    try {
        const { bytes } = await buildFirmware(target)
        if (!quiet)
            console.log(
                `built ${target.entry} for ${target.description}: built/${target.board}/bytecode.devs, ${bytes} bytes`
            )
    } catch (e) {
        failed++
        console.error((e as Error).message)
    }
}
if (failed) {
    console.error(`${failed} firmware build(s) failed`)
    process.exit(1)
}
if (quiet) console.log(`nightlight: firmware built for ${FIRMWARE_TARGETS.length} boards (built/)`)
