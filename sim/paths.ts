import { existsSync } from "node:fs"
import { join } from "node:path"
import { projectRoot } from "../server/util/project-root"

/** The project root (where devsconfig.json is); the DeviceScript CLI must run there. */
export { projectRoot }

/** The DeviceScript CLI, run with `node` directly so that killing it leaves no children (docs/devicescript.md §1). */
export const devsCli = join(projectRoot, "node_modules", "@devicescript", "cli", "devicescript")

/** Where `devs build src/main.ts` writes the bytecode. */
export const firmwareBytecode = join(projectRoot, ".devicescript", "bin", "bytecode.devs")

export function firmwareIsBuilt(): boolean {
    return existsSync(firmwareBytecode)
}
