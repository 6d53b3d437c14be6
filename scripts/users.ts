/**
 * `npm run users -- add|passwd|remove|list`: the broker's users in the credentials file
 * (docs/security.md). A password never comes from the command line, where shell history and `ps` would
 * keep it: it is typed at a prompt that does not echo, read from --password-stdin, or generated and
 * printed once (--generate). A running server closes the sessions of users removed or re-passworded.
 */
import { mkdir } from "node:fs/promises"
import { dirname, join } from "node:path"
import { createInterface } from "node:readline"
import { parseArgs } from "node:util"
import {
    CREDENTIALS_FILE_NAME,
    CredentialsError,
    ROLES,
    USERNAME_RULE,
    isRole,
    isValidUsername,
    loadCredentials,
    saveCredentials,
    type Role,
    type Users,
} from "../server/auth/credentials"
import { generatePassword, hashPassword } from "../server/auth/password-hash"
import { DEFAULTS, ENV } from "../server/config/settings"

/** The variable that names the credentials file for the server and this command. */
export const USERS_ENV = "NIGHTLIGHT_USERS"
const PASSWORD = { min: 8, max: 256 }

const HELP = `Usage: npm run users -- <command> [options]

Commands:
  add NAME --role ROLE   add a user; ROLE is one of ${ROLES.join(", ")}
  passwd NAME            give a user a new password
  remove NAME            remove a user
  list                   list the users and their roles (never a password or hash)

The password (add, passwd) is typed twice at a prompt that does not show it, or:
  --password-stdin       read from the first line of standard input
  --generate             a random strong one, printed once
Options:
  --file PATH            the credentials file (default: $${USERS_ENV}, else ${join("$" + ENV.dataDir, CREDENTIALS_FILE_NAME)},
                         else ${join(DEFAULTS.dataDir, CREDENTIALS_FILE_NAME)})
  -h, --help             show this text

A NAME is ${USERNAME_RULE}; a device's NAME is its DEVICE_ID.
Exit codes: 0 done, 1 failed (unreadable file, no such user, ...), 2 bad usage.`

class UsageError extends Error {}
class Failure extends Error {}

function parseCommandLine(argv: string[]) {
    try {
        return parseArgs({
            args: argv,
            allowPositionals: true,
            strict: true,
            options: {
                role: { type: "string" },
                file: { type: "string" },
                "password-stdin": { type: "boolean", default: false },
                generate: { type: "boolean", default: false },
                help: { type: "boolean", short: "h", default: false },
            },
        })
    } catch (error) {
        const { code, message } = error as Error & { code?: string }
        const option = /^Unknown option '([^']+)'/.exec(message)?.[1]
        // Node's text goes on about positionals after "--": no help to someone who typed --password
        if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option !== undefined)
            throw new UsageError(unknownOption(option))
        throw new UsageError(message)
    }
}

function unknownOption(option: string): string {
    if (/^--?(p|pw|pass|passwd|password)$/i.test(option))
        return (
            `${option}: a password is never given on the command line, where shell history and ps keep it; ` +
            "type it at the prompt, or pipe it in with --password-stdin, or use --generate"
        )
    return `unknown option ${option}`
}

function defaultFile(env: NodeJS.ProcessEnv): string {
    if (env[USERS_ENV]) return env[USERS_ENV]!
    return join(env[ENV.dataDir] || DEFAULTS.dataDir, CREDENTIALS_FILE_NAME)
}

async function main(argv: string[]): Promise<void> {
    const { values, positionals } = parseCommandLine(argv)
    if (values.help || positionals.length === 0) {
        console.log(HELP)
        if (!values.help) throw new UsageError("a command is required")
        return
    }
    const [command, name, ...extra] = positionals
    const file = values.file ?? defaultFile(process.env)
    if (command === "list") {
        if (name !== undefined) throw new UsageError(`list takes no name (got ${JSON.stringify(name)})`)
        return list(file)
    }
    if (!["add", "passwd", "remove"].includes(command))
        throw new UsageError(`unknown command ${JSON.stringify(command)}; one of add, passwd, remove, list`)
    if (name === undefined) throw new UsageError(`${command} needs a NAME`)
    if (extra.length > 0)
        throw new UsageError(`unexpected ${JSON.stringify(extra[0])}: passwords are never given on the command line`)
    if (!isValidUsername(name)) throw new UsageError(`${JSON.stringify(name)} is not a valid name: ${USERNAME_RULE}`)
    if (command !== "add" && values.role !== undefined) throw new UsageError("--role is for add only")
    if (command === "remove" && (values.generate || values["password-stdin"]))
        throw new UsageError("remove takes no password")
    if (values.generate && values["password-stdin"])
        throw new UsageError("use --generate or --password-stdin, not both")

    const users = await load(file)
    if (command === "remove") {
        if (!users.delete(name)) throw new Failure(`there is no user ${name} in ${file}`)
        await saveCredentials(file, users)
        console.log(`removed ${name} from ${file}; a running server closes its sessions within seconds`)
        return
    }
    let role: Role
    if (command === "add") {
        if (values.role === undefined) throw new UsageError(`add needs --role (${ROLES.join(", ")})`)
        if (!isRole(values.role))
            throw new UsageError(`unknown role ${JSON.stringify(values.role)}; one of ${ROLES.join(", ")}`)
        if (users.has(name)) throw new Failure(`${name} is already in ${file}; use passwd to change its password`)
        role = values.role
    } else {
        const entry = users.get(name)
        if (!entry) throw new Failure(`there is no user ${name} in ${file}; add it first`)
        role = entry.role
    }
    const password = values.generate
        ? generatePassword()
        : values["password-stdin"]
          ? checkPassword(await firstLineOfStdin(), role)
          : await promptTwice(role)
    users.set(name, { role, hash: await hashPassword(password) })
    await mkdir(dirname(file), { recursive: true })
    await saveCredentials(file, users)
    console.log(`${command === "add" ? `added ${name} (${role}) to` : `new password for ${name} in`} ${file}`)
    if (values.generate) console.log(`password (shown only now): ${password}`)
    if (role === "device") {
        const pass = values.generate ? password : "<the password>"
        console.log(
            `device settings for .env.local:\n  DEVICE_ID="${name}"\n  MQTT_USER="${name}"\n  MQTT_PASS="${pass}"`
        )
    }
}

async function load(file: string): Promise<Users> {
    const loaded = await loadCredentials(file)
    for (const warning of loaded?.warnings ?? []) console.error(`warning: ${warning}`)
    return loaded?.users ?? new Map()
}

async function list(file: string): Promise<void> {
    const loaded = await loadCredentials(file)
    if (!loaded)
        return console.log(`no users: ${file} does not exist (add one with: npm run users -- add NAME --role ROLE)`)
    for (const warning of loaded.warnings) console.error(`warning: ${warning}`)
    const names = [...loaded.users.keys()].sort()
    if (names.length === 0) return console.log(`no users in ${file}`)
    const width = Math.max(...names.map(n => n.length))
    for (const n of names) console.log(`${n.padEnd(width)}  ${loaded.users.get(n)!.role}`)
}

/** Rules a typed password must meet; a device's must also fit in its .env.local line. */
function checkPassword(password: string, role: Role): string {
    if (password.length < PASSWORD.min)
        throw new UsageError(`the password is too short: at least ${PASSWORD.min} characters (or use --generate)`)
    if (password.length > PASSWORD.max)
        throw new UsageError(`the password is too long: at most ${PASSWORD.max} characters`)
    if (/[\u0000-\u001f\u007f]/.test(password)) throw new UsageError("the password holds a control character")
    // devs skips every .env line that holds "#" (see .env.defaults), and a quote would end the value
    if (role === "device" && /["\\#]/.test(password))
        throw new UsageError("a device's password cannot hold \", \\ or # (its .env.local line would break)")
    return password
}

async function firstLineOfStdin(): Promise<string> {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
    try {
        for await (const line of lines) return line
    } finally {
        lines.close()
    }
    throw new UsageError("--password-stdin: standard input is empty")
}

async function promptTwice(role: Role): Promise<string> {
    if (!process.stdin.isTTY)
        throw new UsageError("standard input is not a terminal: use --password-stdin or --generate")
    const first = checkPassword(await promptHidden("Password: "), role)
    const again = await promptHidden("Password again: ")
    if (again !== first) throw new UsageError("the two passwords differ")
    return first
}

/** Reads a line from the terminal without echoing it. Ctrl-C or Ctrl-D cancels. */
function promptHidden(question: string): Promise<string> {
    const stdin = process.stdin
    process.stderr.write(question)
    stdin.setRawMode(true)
    stdin.setEncoding("utf8")
    stdin.resume()
    return new Promise((resolve, reject) => {
        let value = ""
        const done = () => {
            stdin.off("data", onData)
            stdin.setRawMode(false)
            stdin.pause()
            process.stderr.write("\n")
        }
        const onData = (chunk: string) => {
            for (const ch of chunk) {
                if (ch === "\r" || ch === "\n" || ch === "\u0003" || ch === "\u0004") {
                    done()
                    if (ch === "\r" || ch === "\n") resolve(value)
                    else reject(new Failure("cancelled"))
                    return
                }
                if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1)
                else value += ch
            }
        }
        stdin.on("data", onData)
    })
}

main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
        const usage = error instanceof UsageError
        const known = usage || error instanceof Failure || error instanceof CredentialsError
        console.error(`error: ${known ? (error as Error).message : String(error)}${usage ? " (see --help)" : ""}`)
        process.exit(usage ? 2 : 1)
    }
)
