/** The page bench's table on stdout: a row per fleet size, each figure against the target. */
import { printColumns } from "./print"
import { PAGE_TARGETS, type PageReport } from "./page-report"

const yesNo = (met: boolean | null) => (met === null ? "-" : met ? "yes" : "NO")
const show = (v: number | null) => (v === null ? "-" : String(v))

export function printPageRuns(report: PageReport): void {
    const { domElements, usefulMs, lagMs } = PAGE_TARGETS
    console.log(
        `\nThe dashboard page (${report.commit}, Chromium ${report.chromium}). Targets: first useful screen ≤ ` +
            `${usefulMs} ms, DOM < ${domElements} elements, lag p95 < ${lagMs} ms with every value shown`
    )
    printColumns([
        [
            "devices",
            "useful ms",
            "in DOM ms",
            "DOM",
            "heap MB",
            "rate/s",
            "lag p50 ms",
            "p95",
            "max",
            "shown/sent",
            "never",
            "busy %",
            "load",
            "useful ok",
            "DOM ok",
            "lag ok",
        ],
        ...report.runs.map(r => [
            String(r.devices),
            r.usefulMs === null ? `> ${r.usefulBoundMs / 1000} s` : String(r.usefulMs),
            show(r.usefulDomMs),
            String(r.domElements),
            String(r.heapMB),
            String(r.sentPerS),
            show(r.lag.medianMs),
            show(r.lag.p95Ms),
            show(r.lag.maxMs),
            `${r.lag.shown}/${r.lag.sent}`,
            String(r.lag.neverShown),
            show(r.mainThreadBusyPercent),
            String(r.loadAverage),
            yesNo(r.verdict.useful),
            yesNo(r.verdict.dom),
            yesNo(r.verdict.lag),
        ]),
    ])
}
