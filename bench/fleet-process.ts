/**
 * One fleet (load.ts) in a process of its own, driven by the bench over IPC (remote-fleet.ts) for paired
 * runs: each system under test keeps its own fleet connected between its turns, and one process may open
 * only `ulimit -n` files (20,000 here), so three fleets of 10,000 devices need three processes. The step
 * itself (step.ts) runs here, so the generator's CPU of a step is this process's.
 *
 *   usage (with an IPC channel): node --import tsx bench/fleet-process.ts <url> <devices> <prefix> <confirmedBy>
 * Requests {id, op, ...}: "connect" (connect and warm up), "step" {pids, rate, seconds}, "close"; each
 * answered {id, ...} or {id, error}. Log lines come as {op: "log"}.
 * It exits when the bench goes away.
 */
import { Fleet, type ConfirmedBy } from "./load"
import { runStep, warmUp } from "./step"
import { rssMB, type RunningSystem } from "./systems"

export type FleetRequest =
    | { id: number; op: "connect" }
    | { id: number; op: "step"; pids: number[]; rate: number; seconds: number }
    | { id: number; op: "close" }

const [url, devicesText, prefix, confirmedBy] = process.argv.slice(2)
if (!url || !prefix || !confirmedBy || !process.send) {
    console.error("usage: node --import tsx bench/fleet-process.ts <url> <devices> <prefix> <confirmedBy> (with IPC)")
    process.exit(2)
}
const fleet = new Fleet(url, Number(devicesText), prefix, confirmedBy as ConfirmedBy)
const send = (message: object) => process.send!(message)

/** What step.ts needs of the system: its processes, whose CPU and memory they read. */
function system(pids: number[]): RunningSystem {
    return {
        name: "ours",
        url,
        confirmedBy: fleet.confirmedBy,
        pids: () => pids,
        helperPids: () => [],
        stop: () => Promise.resolve(),
    }
}

async function answer(request: FleetRequest): Promise<object> {
    switch (request.op) {
        case "connect": {
            const t0 = performance.now()
            await fleet.connect()
            const connectMs = Math.round(performance.now() - t0)
            const answered = await warmUp(system([]), fleet)
            return { connectMs, answered, rssMB: rssMB([process.pid]) }
        }
        case "step":
            return { run: await runStep(system(request.pids), fleet, request.rate, request.seconds) }
        case "close":
            await fleet.close()
            return {}
    }
}

process.on("message", (request: FleetRequest) => {
    answer(request).then(
        reply => send({ id: request.id, ...reply }),
        (error: Error) => send({ id: request.id, error: error.message })
    )
})
// the bench went away (Ctrl-C, a crash): nothing else would end this process (after "close", SIGTERM does)
process.on("disconnect", () => {
    fleet.destroy()
    process.exit(0)
})
