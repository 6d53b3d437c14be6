/**
 * `npm run bench:ab -- --b <git ref or folder> [--a <git ref or folder>] [bench flags]`: our server from
 * two trees, A (default: this one) and B, each with its own fleet, in paired rounds (paired.ts): B/A of
 * each figure per round, their median and spread. For comparing a change of our own. Writes
 * test-results/bench-ab.json and bench-ab.html. See bench/README.md.
 */
import { currentTree, treeOf, type SourceTree } from "./ab-tree"
import { writeReports } from "./output"
import { parseArgs, type Options } from "./options"
import { benchPaired } from "./paired"
import { printPaired } from "./print"
import type { BenchReport } from "./report"
import { STEP } from "./step"
import { killAllChildren, runCommand, startOurs } from "./systems"
import { machine } from "./machine"

export const AB_FILES = { json: "test-results/bench-ab.json", html: "test-results/bench-ab.html" }

const HELP = `usage: npm run bench:ab -- --b <git ref or folder> [--a <git ref or folder>] [options]
  --b REF|DIR            B: our server from that commit (a temporary git worktree, node_modules linked,
                         removed after) or from that folder (which needs its own node_modules)
  --a REF|DIR            A: the same (default: this tree, with its changes not committed)
  --a-node-args "..."    Node options for A's server (and --b-node-args for B's), e.g. --b . --b-node-args
                         "--max-semi-space-size=64" to measure a runtime flag (both: BENCH_SERVER_NODE_ARGS)
  --devices, --rates, --seconds, --repeats   as for npm run bench (here by default 10000 devices, 5000/s,
                         5 s steps, 5 rounds); each round runs A then B, or B then A, alternately`

/** A/B's defaults, before the flags given: the target scenario, five rounds. */
const AB_DEFAULTS = ["--rates", "5000", "--repeats", "5"]

const log = (line: string) => console.error(`--- ${line}`)
const trees: SourceTree[] = []

interface AbArgs {
    a?: string
    b: string
    nodeArgs: { A: string[]; B: string[] }
    options: Options
}

function parseAbArgs(argv: string[]): AbArgs | undefined {
    const rest: string[] = []
    let a: string | undefined
    let b: string | undefined
    const nodeArgs = { A: [] as string[], B: [] as string[] }
    const words = (flag: string, value: string | undefined) => {
        if (value === undefined) throw new Error(`${flag} needs Node's options, quoted as one argument`)
        return value.split(" ").filter(Boolean)
    }
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]
        if (arg === "-h" || arg === "--help") return undefined
        if (arg === "--a") a = argv[++i]
        else if (arg === "--b") b = argv[++i]
        else if (arg === "--a-node-args") nodeArgs.A = words(arg, argv[++i])
        else if (arg === "--b-node-args") nodeArgs.B = words(arg, argv[++i])
        else rest.push(arg)
    }
    if (!b) throw new Error("--b needs a git ref or a folder")
    const options = parseArgs([...AB_DEFAULTS, ...rest])!
    return {
        a,
        b,
        nodeArgs,
        options: { ...options, systems: ["ours"], saturation: false, scaleOut: false, firmware: 0 },
    }
}

/** What a side is, for the report: its tree, and its Node options when it has some. */
const sideLabel = (tree: SourceTree, nodeArgs: string[]) =>
    nodeArgs.length > 0 ? `${tree.label}, node ${nodeArgs.join(" ")}` : tree.label

async function main(): Promise<void> {
    let parsed: ReturnType<typeof parseAbArgs>
    try {
        parsed = parseAbArgs(process.argv.slice(2))
    } catch (error) {
        console.error(`bench:ab: ${(error as Error).message} (run with --help for usage)`)
        process.exitCode = 2
        return
    }
    if (!parsed) return void console.log(HELP)
    const { options } = parsed
    const started = performance.now()
    const perSide =
        60_000 +
        (options.devices / 1000) * 3000 +
        options.rates.length * options.repeats * (options.seconds * 1000 + STEP.settleMs + STEP.confirmGraceMs + 3000)
    setTimeout(() => {
        console.error(`!!! bench:ab: still running after ${Math.round((2 * perSide) / 1000)} s, giving up`)
        shutdown(1)
    }, 2 * perSide).unref()

    let a: SourceTree, b: SourceTree
    try {
        a = parsed.a ? treeOf(parsed.a) : currentTree()
        trees.push(a)
        b = treeOf(parsed.b)
        trees.push(b)
    } catch (error) {
        console.error(`bench:ab: ${(error as Error).message}`)
        process.exitCode = 2
        return
    }
    const labels = { A: sideLabel(a, parsed.nodeArgs.A), B: sideLabel(b, parsed.nodeArgs.B) }
    log(`A: ${labels.A}\n--- B: ${labels.B}`)
    const outcome = await benchPaired(
        [
            { name: "A", start: () => startOurs({ root: a.root, nodeArgs: parsed.nodeArgs.A }) },
            { name: "B", start: () => startOurs({ root: b.root, nodeArgs: parsed.nodeArgs.B }) },
        ],
        "A",
        options,
        `ab${Math.random().toString(36).slice(2, 6)}`,
        log
    )
    const report: BenchReport = {
        date: new Date().toISOString(),
        node: process.version,
        machine: machine(),
        durationS: Math.round((performance.now() - started) / 1000),
        options,
        results: [],
        headline: null,
        saturation: null,
        saturationRatio: null,
        saturationRatioIs: null,
        firmware: null,
        paired: {
            kind: "ab",
            labels,
            fleets: outcome.fleets,
            steps: outcome.steps,
        },
    }
    printPaired(report.paired!)
    writeReports(report, AB_FILES)
    console.log(`\nJSON: ${AB_FILES.json}\nHTML: ${AB_FILES.html}\n(${report.durationS} s in all)`)
}

function removeTrees(): void {
    for (const tree of trees) tree.remove()
}

let shuttingDown = false

function shutdown(code: number): void {
    if (shuttingDown) return
    shuttingDown = true
    killAllChildren()
    removeTrees()
    process.exit(code)
}

runCommand("bench:ab", main, shutdown, removeTrees)
