/**
 * `npm run deploy -- --board <id>`: puts the nightlight on a real board by DeviceScript's own path
 * (docs/devicescript.md §1-2): `devs flash` writes the runtime, then `devs devtools --serial|--usb`
 * deploys the program with its settings and shows the device's log. What cannot work is explained
 * without a stack trace (deploy-preflight.ts before, deploy-checks.ts from the CLI's output).
 */
import { spawn } from "node:child_process"
import { parseArgs, stripVTControlCharacters } from "node:util"
import { explainDeployFailure, readDeviceSettings, settingsWarnings } from "./deploy-checks"
import { boardsOnUsb, deployProblems, reachGitHub } from "./deploy-preflight"
import { FIRMWARE_TARGETS } from "../sim/firmware"
import { devsCli, projectRoot } from "../sim/paths"

const boards = FIRMWARE_TARGETS.map(t => `  --board ${t.board.padEnd(20)} ${t.description}`).join("\n")
const HELP = `Usage: npm run deploy -- --board <id> [--skip-flash]

Flashes the DeviceScript runtime to a board on USB, then deploys the nightlight firmware and its
settings (.env.defaults, .env.local) and shows the device's log until Ctrl+C.

Boards:
${boards}

Options:
  --skip-flash   the board already runs the DeviceScript runtime: only deploy the program
  -h, --help     show this help
`

function usage(message: string): never {
    console.error(`error: ${message}\nRun with --help for usage.`)
    process.exit(2)
}

let values
try {
    values = parseArgs({
        options: {
            board: { type: "string" },
            "skip-flash": { type: "boolean", default: false },
            help: { type: "boolean", short: "h", default: false },
        },
        strict: true,
    }).values
} catch (e) {
    usage((e as Error).message)
}
if (values.help) {
    console.log(HELP)
    process.exit(0)
}
if (!values.board) usage(`--board is required; one of: ${FIRMWARE_TARGETS.map(t => t.board).join(", ")}`)
if (/wio/i.test(values.board))
    usage("the Wio Terminal (SAMD51) cannot run DeviceScript: its runtime exists for ESP32 and RP2040 boards only")
const target = FIRMWARE_TARGETS.find(t => t.board === values.board)
if (!target) usage(`unknown board "${values.board}"; one of: ${FIRMWARE_TARGETS.map(t => t.board).join(", ")}`)

for (const warning of settingsWarnings(readDeviceSettings(projectRoot), target.board))
    console.warn(`warning: ${warning}`)

/**
 * Runs a devs command, echoing its standard output. Standard error is held back: the CLI dies with a
 * Node stack trace on a missing tool or network, and explainDeployFailure turns that into one line.
 * No colour codes: the CLI writes them even into a pipe, and they would show raw in a log.
 */
function devs(args: string[]): Promise<{ code: number; output: string }> {
    return new Promise(resolve => {
        const child = spawn(process.execPath, [devsCli, "--no-colors", ...args], {
            cwd: projectRoot,
            stdio: ["inherit", "pipe", "pipe"],
        })
        child.stdout.setEncoding("utf8")
        child.stderr.setEncoding("utf8")
        let output = ""
        let errors = ""
        child.stdout.on("data", (chunk: string) => {
            output += chunk
            process.stdout.write(stripVTControlCharacters(chunk))
        })
        child.stderr.on("data", (chunk: string) => (errors += chunk))
        child.once("error", err => resolve({ code: 1, output: String(err) }))
        child.once("exit", code => {
            if (code === 0) process.stderr.write(stripVTControlCharacters(errors))
            resolve({ code: code ?? 1, output: stripVTControlCharacters(output + errors) })
        })
    })
}

async function main() {
    const family = target!.board === "picow_nightlight" ? "rp2040" : "esp32"
    // No board: `devs devtools` would wait for one for ever. No internet: `devs flash` cannot download.
    const problems = deployProblems({
        family,
        description: target!.description.replace(/\s*\(.*\)$/, ""),
        boards: boardsOnUsb(family),
        internet: values!["skip-flash"] ? undefined : await reachGitHub(),
    })
    if (problems.length > 0) {
        console.error(problems.join("\n"))
        process.exit(1)
    }
    if (!values!["skip-flash"]) {
        console.log(`1/2 flashing the DeviceScript runtime to ${target!.description}...`)
        const flash = await devs(["flash", family, "--board", target!.board, "--once"])
        const why = explainDeployFailure(flash.code, flash.output)
        if (why) {
            console.error(`\ndeploy failed while flashing the runtime: ${why}`)
            process.exit(1)
        }
    }
    console.log(`2/2 deploying ${target!.entry} and its settings; Ctrl+C when the device log looks right`)
    const deploy = await devs(["devtools", target!.entry, family === "rp2040" ? "--usb" : "--serial"])
    const why = explainDeployFailure(deploy.code, deploy.output)
    if (why) {
        console.error(`\ndeploy failed while deploying the program: ${why}`)
        process.exit(1)
    }
}

await main()
