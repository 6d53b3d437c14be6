/**
 * Where a bench report goes: test-results/bench.json and, drawn from the same object, the self-contained
 * page test-results/bench.html. Separate from run.ts so another part (bench/scaleout.ts) can read the
 * last report, add its section (`scaleOut`) and write both files again.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { renderHtmlReport } from "./html-report"
import type { BenchReport } from "./report"

export const REPORT_FILES = { json: "test-results/bench.json", html: "test-results/bench.html" }

export function writeReports(report: BenchReport, files = REPORT_FILES): void {
    mkdirSync(dirname(files.json), { recursive: true })
    mkdirSync(dirname(files.html), { recursive: true })
    writeFileSync(files.json, JSON.stringify(report, null, 4) + "\n")
    writeFileSync(files.html, renderHtmlReport(report))
}

/** The last report written; throws naming the file when it is missing or not a bench report. */
export function readReport(file = REPORT_FILES.json): BenchReport {
    let report: Partial<BenchReport>
    try {
        report = JSON.parse(readFileSync(file, "utf8"))
    } catch (error) {
        throw new Error(`cannot read the bench report ${file}: ${(error as Error).message}`)
    }
    if (!Array.isArray(report.results)) throw new Error(`${file} is not a bench report (no "results")`)
    return report as BenchReport
}
