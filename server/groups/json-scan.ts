/** jsonc-parser held to strict JSON; here only what its events and error offsets mean to a file's writer. */
import { visit } from "jsonc-parser"

/** Containers deeper than this are refused: no config of ours comes near, and the walk recurses. */
const MAX_DEPTH = 32

/** A syntax error at an offset of the text; without a problem, the place in the grammar names it. */
class JsonSyntax {
    constructor(
        readonly at: number,
        readonly problem?: string
    ) {}
}

const JSON_SLIPS: Record<string, string> = {
    "'": "JSON strings use double quotes",
    "/": "JSON has no comments",
    "#": "JSON has no comments",
}

/** The last token the parser passed: what may come next, and so what a bad one means. */
type After = "start" | "open" | "comma" | "key" | "colon" | "value"

/**
 * What JSON.parse does not tell: where a syntax error is (Node 20 often gives no position), duplicate keys
 * (it keeps the last: a copied group not renamed replaces the first), and "__proto__" (dropped silently).
 */
export function scanJson(text: string): { syntaxError?: string; problems: { path: PropertyKey[]; message: string }[] } {
    const problems: { path: PropertyKey[]; message: string }[] = []
    const lineOf = (at: number) => text.slice(0, at).split("\n").length
    if (text.trim() === "") return { syntaxError: 'the file is empty (expected {"groups": {...}})', problems }
    /** The open containers, innermost last; an object's entry keeps where each of its keys is. */
    const open: { close: "}" | "]"; keyAt?: Map<string, number> }[] = []
    let after: After = "start"
    const begin = (close: "}" | "]", at: number) => {
        if (open.length > MAX_DEPTH) throw new JsonSyntax(at, "nested too deep")
        open.push(close === "}" ? { close, keyAt: new Map() } : { close })
        after = "open"
    }
    const end = () => {
        open.pop()
        after = "value"
    }
    const key = (key: string, at: number, path: PropertyKey[]) => {
        after = "key"
        const keyAt = open[open.length - 1].keyAt!
        const first = keyAt.get(key)
        if (first === undefined) keyAt.set(key, at)
        else {
            const [a, b] = [lineOf(first), lineOf(at)]
            const where = a === b ? `on line ${a}` : `on lines ${a} and ${b}`
            problems.push({ path: [...path, key], message: `given twice ${where}; JSON would keep only the second` })
        }
        // zod (and many JSON tools) drop this key without a word: say so instead.
        if (key === "__proto__") problems.push({ path: [...path, key], message: "is a reserved name" })
    }
    try {
        visit(
            text,
            {
                onObjectBegin: offset => begin("}", offset),
                onArrayBegin: offset => begin("]", offset),
                onObjectEnd: end,
                onArrayEnd: end,
                onObjectProperty: (property, offset, _length, _line, _column, path) => key(property, offset, path()),
                onLiteralValue: () => void (after = "value"),
                onSeparator: separator => void (after = separator === "," ? "comma" : "colon"),
                // Stop at the first error: the parser's recovery from it would only add confusing ones.
                onError: (_code, offset) => {
                    throw new JsonSyntax(offset)
                },
            },
            { disallowComments: true, allowTrailingComma: false }
        )
    } catch (error) {
        if (!(error instanceof JsonSyntax)) throw error
        // The parser says where it stopped; what is wrong there, and exactly where, depends on what came before.
        const { at, problem } = error.problem ? error : problemAt(text, error.at, after, open[open.length - 1]?.close)
        const line = lineOf(at)
        const column = at - text.slice(0, at).lastIndexOf("\n")
        // Wherever the walk was when the text ran out, the problem is that something is missing.
        const why = at >= text.length ? `the text ends too early (a "}" or "]" missing?)` : problem
        return { syntaxError: `line ${line}, column ${column}: not valid JSON: ${why}`, problems }
    }
    return { problems }
}

/**
 * What is wrong at `at`, where the parser stopped, given the last token before it and the innermost
 * open container's closing bracket (none once the top value is closed).
 */
function problemAt(text: string, at: number, after: After, close: "}" | "]" | undefined): JsonSyntax {
    const fail = (problem: string) => new JsonSyntax(at, problem)
    const c = text[at]
    if (after === "key") return fail(`expected ":" after the key`)
    if (after === "value") return fail(close ? `expected "," or "${close}"` : "more text after the end of the JSON")
    if (c === close && after === "comma") return fail(`a comma before "${close}" (JSON allows no trailing comma)`)
    if (close === "}" && after !== "colon" && c !== '"') return fail(`expected a key in double quotes`)
    if (c === '"') return stringProblem(text, at)
    const literal = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y
    literal.lastIndex = at
    // A good start with something glued to it ("1.", "truex"): what follows it is the problem.
    if (literal.test(text)) return problemAt(text, literal.lastIndex, "value", close)
    const word = /[A-Za-z_][\w-]*/y
    word.lastIndex = at
    if (word.test(text)) return fail(`${text.slice(at, word.lastIndex)} needs double quotes`)
    return fail(`unexpected ${JSON.stringify(c)}${Object.hasOwn(JSON_SLIPS, c) ? ` (${JSON_SLIPS[c]})` : ""}`)
}

/** The first problem of the string that starts at `start`: at the string, or at a raw control character. */
function stringProblem(text: string, start: number): JsonSyntax {
    for (let i = start + 1; i < text.length; i += text[i] === "\\" ? 2 : 1) {
        if (text[i] === '"') return new JsonSyntax(start, `a bad escape (\\) in this string`)
        if (text[i] < " ") return new JsonSyntax(i, `a line break or control character inside a string (write \\n)`)
    }
    return new JsonSyntax(start, `this string has no closing "`)
}
