/**
 * The simulator's process helpers (sim/processes.ts) that need no devtools: waiting for a port while the
 * process that should open it may end first.
 */
import { createServer } from "node:net"
import { expect, test } from "vitest"
import { waitForPort } from "../../sim/processes"

/** A port on 127.0.0.1 that nothing listens on: one the system handed out, closed again. */
async function closedPort(): Promise<number> {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as { port: number }
    await new Promise(resolve => server.close(resolve))
    return port
}

test("a process that fails before its port opens stops the wait at once, with why", async () => {
    const port = await closedPort()
    const failed = Promise.reject(new Error("devs could not start"))
    const started = Date.now()
    await expect(waitForPort(port, 5000, failed)).rejects.toThrow(`process ended before port ${port} opened`)
    expect(Date.now() - started).toBeLessThan(2000)
})

test("a process that exits before its port opens stops the wait at once", async () => {
    const port = await closedPort()
    const started = Date.now()
    await expect(waitForPort(port, 5000, Promise.resolve(1))).rejects.toThrow("process ended before")
    expect(Date.now() - started).toBeLessThan(2000)
})
