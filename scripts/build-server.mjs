/**
 * `npm run build:server`, also run before `npm start`: the server as one JavaScript file,
 * dist/server/main.js, which Node runs alone. Through tsx the server also carried tsx's loader (a thread
 * of its own) and its transforms: 35–60 MB more RSS at 10,000 devices (bench/README.md, "Memory"). Packages
 * stay in node_modules; web/ and the checkpoint worker are read where they are
 * (server/util/project-root.ts). Plain JavaScript, so that no tsx runs (and lingers) before every start.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

// Without its worker thread, esbuild's sync API runs it as a child that it waits for; with it, the
// child is killed at exit and left for init to reap (a zombie in the server's process group).
process.env.ESBUILD_WORKER_THREADS = "0"
const { buildSync } = await import("esbuild")
const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const outfile = join(root, "dist", "server", "main.js")

try {
    const result = buildSync({
        entryPoints: [join(root, "server", "main.ts")],
        outfile,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20", // package.json's engines
        packages: "external",
        // for `node --enable-source-maps dist/server/main.js` (10 MB more RSS, so not npm start's default)
        sourcemap: "linked",
        write: false,
        logLevel: "warning",
    })
    mkdirSync(dirname(outfile), { recursive: true })
    // Each file whole or not at all: a second `npm start` may be reading it while this one builds.
    for (const file of result.outputFiles) {
        const partial = `${file.path}.${process.pid}.partial`
        writeFileSync(partial, file.contents)
        renameSync(partial, file.path)
    }
    if (process.argv.includes("--verbose")) console.log(`built ${relative(root, outfile)}`)
} catch (err) {
    // esbuild has printed where the sources are wrong; this says what did not happen
    console.error(`could not build the server: ${String(err?.message ?? err).split("\n")[0]}`)
    process.exit(1)
}
