/**
 * The project's folder, where web/, the firmware's build and node_modules are. Found by looking up from
 * this module for nightlight's package.json: the sources (server/…, sim/) and the server's bundle
 * (dist/server/main.js, scripts/build-server.mjs) sit at different depths below it.
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const PACKAGE_NAME = "nightlight"

function findProjectRoot(from: string): string {
    for (let dir = from; ; dir = dirname(dir)) {
        if (isOurPackage(join(dir, "package.json"))) return dir
        if (dirname(dir) === dir) throw new Error(`no package.json of ${PACKAGE_NAME} in ${from} or above it`)
    }
}

function isOurPackage(file: string): boolean {
    if (!existsSync(file)) return false
    try {
        return (JSON.parse(readFileSync(file, "utf8")) as { name?: unknown }).name === PACKAGE_NAME
    } catch {
        return false // a broken package.json of another project on the way up
    }
}

export const projectRoot = findProjectRoot(dirname(fileURLToPath(import.meta.url)))
