/**
 * A JSON scanner for hand-written config files: where a syntax error is (Node 20's JSON.parse messages
 * often give no position), keys given twice in one object, and "__proto__". See scanJson.
 */
/** A syntax error at an offset of the text. */
class JsonSyntax {
    constructor(
        readonly at: number,
        readonly problem: string
    ) {}
}

/** What people who write JSON by hand type by mistake, and what to tell them. */
const JSON_SLIPS: Record<string, string> = {
    "'": "JSON strings use double quotes",
    "/": "JSON has no comments",
    "#": "JSON has no comments",
}

/**
 * Walks JSON text for what JSON.parse does not tell: where a syntax error is (Node 20's messages often
 * give no position), keys given twice in one object, of which JSON.parse silently keeps the last (a
 * copied group whose name was not changed would replace the first, and its devices leave the group),
 * and "__proto__", which validation drops silently.
 */
export function scanJson(text: string): { syntaxError?: string; problems: { path: PropertyKey[]; message: string }[] } {
    const problems: { path: PropertyKey[]; message: string }[] = []
    const lineOf = (at: number) => text.slice(0, at).split("\n").length
    let i = 0
    const skipSpace = () => {
        while (i < text.length && " \t\r\n".includes(text[i])) i++
    }
    const fail = (problem: string, at = i): never => {
        throw new JsonSyntax(at, problem)
    }
    const readString = (): string => {
        const start = i++
        for (;;) {
            const c = text[i]
            if (c === undefined) fail(`this string has no closing "`, start)
            if (c === '"') break
            if (c < " ") fail(`a line break or control character inside a string (write \\n)`)
            i += c === "\\" ? 2 : 1
        }
        i++
        try {
            return JSON.parse(text.slice(start, i)) as string
        } catch {
            return fail(`a bad escape (\\) in this string`, start)
        }
    }
    const readValue = (path: PropertyKey[]): void => {
        skipSpace()
        if (path.length > 32) fail("nested too deep")
        const open = text[i]
        if (open === "{" || open === "[") {
            const close = open === "{" ? "}" : "]"
            const keyAt = new Map<string, number>()
            i++
            skipSpace()
            if (text[i] === close) return void i++
            for (let index = 0; ; index++) {
                skipSpace()
                if (text[i] === close) fail(`a comma before "${close}" (JSON allows no trailing comma)`)
                let key: PropertyKey = index
                if (open === "{") {
                    if (text[i] !== '"') fail(`expected a key in double quotes`)
                    const at = i
                    key = readString()
                    const first = keyAt.get(key)
                    if (first === undefined) keyAt.set(key, at)
                    else {
                        const [a, b] = [lineOf(first), lineOf(at)]
                        const where = a === b ? `on line ${a}` : `on lines ${a} and ${b}`
                        problems.push({
                            path: [...path, key],
                            message: `given twice ${where}; JSON would keep only the second`,
                        })
                    }
                    // zod (and many JSON tools) drop this key without a word: say so instead.
                    if (key === "__proto__") problems.push({ path: [...path, key], message: "is a reserved name" })
                    skipSpace()
                    if (text[i] !== ":") fail(`expected ":" after the key`)
                    i++
                }
                readValue([...path, key])
                skipSpace()
                if (text[i] === ",") i++
                else if (text[i] === close) return void i++
                else fail(`expected "," or "${close}"`)
            }
        }
        if (open === '"') return void readString()
        const literal = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y
        literal.lastIndex = i
        if (literal.test(text)) return void (i = literal.lastIndex)
        const word = /[A-Za-z_][\w-]*/y
        word.lastIndex = i
        if (word.test(text)) fail(`${text.slice(i, word.lastIndex)} needs double quotes`)
        fail(`unexpected ${JSON.stringify(open)}${Object.hasOwn(JSON_SLIPS, open) ? ` (${JSON_SLIPS[open]})` : ""}`)
    }
    if (text.trim() === "") return { syntaxError: 'the file is empty (expected {"groups": {...}})', problems }
    try {
        readValue([])
        skipSpace()
        if (i < text.length) fail("more text after the end of the JSON")
    } catch (error) {
        if (!(error instanceof JsonSyntax)) throw error
        const line = lineOf(error.at)
        const column = error.at - text.slice(0, error.at).lastIndexOf("\n")
        // Wherever the walk was when the text ran out, the problem is that something is missing.
        const problem = error.at >= text.length ? `the text ends too early (a "}" or "]" missing?)` : error.problem
        return { syntaxError: `line ${line}, column ${column}: not valid JSON: ${problem}`, problems }
    }
    return { problems }
}
