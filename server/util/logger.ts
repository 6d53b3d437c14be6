/**
 * Human-readable logs, one line per event, like the lesson's prints. pino-pretty's prettyFactory formats
 * each line in the same call and it is written synchronously: no worker-thread transport, so nothing is
 * lost when the process exits right after a fatal line.
 */
import { pino, type Logger } from "pino"
import { prettyFactory } from "pino-pretty"
import type { LogLevel } from "../config/settings"

export type { Logger }

export interface LoggerOptions {
    level: LogLevel
    /** Standard output by default. */
    destination?: { write(text: string): unknown }
    /** Colours; by default only on a terminal and when NO_COLOR is not set. */
    colorize?: boolean
}

export function createLogger(options: LoggerOptions): Logger {
    const toStdout = options.destination === undefined
    const colorize = options.colorize ?? (toStdout && process.stdout.isTTY === true && !process.env.NO_COLOR)
    const prettify = prettyFactory({
        colorize,
        translateTime: "HH:MM:ss.l",
        ignore: "pid,hostname",
        singleLine: true,
    })
    const destination = options.destination ?? pino.destination({ dest: 1, sync: true })
    return pino({ level: options.level }, { write: (line: string) => destination.write(prettify(line)) })
}

/** Makes untrusted text (topics, payloads) safe for one log line: no control characters, bounded length. */
export function printable(text: string, max = 200): string {
    const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?")
    return clean.length > max ? `${clean.slice(0, max)}…` : clean
}
