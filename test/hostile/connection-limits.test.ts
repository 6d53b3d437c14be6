/**
 * docs/security.md "Connections that have not logged in": an attacker opens sockets and never logs in
 * (or drips a CONNECT a byte at a time). Before the limits, each such socket stayed 30 s and 20,000 of
 * them filled the file table. Now each address may hold 32 at a time, all addresses 1000, and each must
 * log in within 10 s; a device with a password still gets in from its own address.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect as netConnect } from "node:net"
import { connect as tlsConnect } from "node:tls"
import { afterEach, describe, expect, test, vi } from "vitest"
import { startServer, type RunningServer } from "../../server/app"
import { parseSettings } from "../../server/config/settings"
import { CONNECTION_LIMITS, ConnectionGate } from "../../server/mqtt/connection-gate"
import {
    attackedBroker,
    closesWithin,
    loginPacket,
    otherAddress,
    rawLogin,
    rawSocket,
    type AttackedBroker,
} from "../helpers/attacker"
import { HOST, closeClient, connectClient, recordingLogger, until } from "../helpers/mqtt"
import { makeCa, makeServerCert } from "../helpers/certificates"

const USERS = { porch: ["device", "porch-password"] as ["device", string] }
const running: AttackedBroker[] = []
const sockets: { destroy(): void }[] = []
const servers: RunningServer[] = []

afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy()
    for (const b of running.splice(0)) await b.stop()
    for (const server of servers.splice(0)) await server.stop()
})

/** The whole server with these flags (history in memory, no simulator, no dashboard); its broker's port. */
async function serverWith(flags: string[]): Promise<RunningServer> {
    const settings = parseSettings(["--mqtt-port", "0", "--no-sim", "--no-dashboard", ...flags], {})
    const server = await startServer({ ...settings, dataDir: undefined }, recordingLogger("info").logger)
    servers.push(server)
    return server
}

async function attacked(...args: Parameters<typeof attackedBroker>): Promise<AttackedBroker> {
    const b = await attackedBroker(...args)
    running.push(b)
    return b
}

/** Opens `count` silent sockets from `from`; their `closed` promises. */
async function silentSockets(port: number, from: string, count: number): Promise<Promise<void>[]> {
    const opened = []
    for (let i = 0; i < count; i++) {
        const s = await rawSocket(port, from)
        sockets.push(s.socket)
        opened.push(s.closed)
    }
    return opened
}

/** How many of `closed` settle within `ms`. */
async function countClosed(closed: Promise<void>[], ms: number): Promise<number> {
    return (await Promise.all(closed.map(c => closesWithin(c, ms)))).filter(Boolean).length
}

describe("connections that have not logged in", () => {
    test("one address holds at most 32; the rest are closed at once, and a device from elsewhere gets in", async () => {
        const { broker } = await attacked(USERS, { connectionLimits: { deadlineMs: 120_000 } })
        const { maxPerAddress } = CONNECTION_LIMITS
        const closed = await silentSockets(broker.port, otherAddress(1), maxPerAddress + 40)
        expect(await countClosed(closed, 1000)).toBe(40)
        expect(broker.stats().refusedPerAddress).toBe(40)
        const porch = await rawLogin(broker.port, otherAddress(2), "porch", "porch-password")
        sockets.push(porch.socket)
        expect(porch.code).toBe(0)
    })

    test("1,200 silent sockets from 40 addresses: at most 1000 stay open; logged-in devices are not counted", async () => {
        // the default caps; a deadline the opening of 1,200 sockets on a loaded machine cannot reach
        const { broker } = await attacked(USERS, { connectionLimits: { deadlineMs: 120_000 } })
        // a device logged in before the flood stays connected through it
        const porch = await rawLogin(broker.port, otherAddress(100), "porch", "porch-password")
        sockets.push(porch.socket)
        expect(porch.code).toBe(0)
        const porchClosed = new Promise<void>(resolve => porch.socket.once("close", () => resolve()))
        const closed: Promise<void>[] = []
        for (let a = 0; a < 40; a++) closed.push(...(await silentSockets(broker.port, otherAddress(a), 30)))
        await until("the refused sockets to be counted", () => broker.stats().refusedTotal === 200, 10_000)
        expect(await countClosed(closed, 1000)).toBe(200)
        expect(broker.stats().refusedPerAddress).toBe(0)
        expect(await closesWithin(porchClosed, 100)).toBe(false)
    })

    test("a socket that stays silent, or drips its CONNECT, is closed at the deadline; a login in time stays", async () => {
        const deadlineMs = 500
        const { broker } = await attacked(USERS, { connectionLimits: { deadlineMs } })
        const silent = await rawSocket(broker.port, otherAddress(1))
        const dripping = await rawSocket(broker.port, otherAddress(1))
        sockets.push(silent.socket, dripping.socket)
        const bytes = loginPacket("drip", "porch", "porch-password")
        let sent = 0
        const drip = setInterval(
            () => sent < bytes.length - 1 && dripping.socket.write(bytes.subarray(sent, ++sent)),
            50
        )
        try {
            const porch = await rawLogin(broker.port, otherAddress(2), "porch", "porch-password")
            sockets.push(porch.socket)
            expect(porch.code).toBe(0)
            const porchClosed = new Promise<void>(resolve => porch.socket.once("close", () => resolve()))
            expect(await closesWithin(silent.closed, deadlineMs + 2000)).toBe(true)
            expect(await closesWithin(dripping.closed, 2000)).toBe(true)
            expect(broker.stats().timedOut).toBe(2)
            expect(await closesWithin(porchClosed, deadlineMs)).toBe(false)
        } finally {
            clearInterval(drip)
        }
    })
})

describe("the limits' flags", () => {
    test("--mqtt-max-pending-per-address and --mqtt-max-pending cap a started server's broker", async () => {
        const server = await serverWith(["--mqtt-max-pending-per-address", "3", "--mqtt-max-pending", "5"])
        const port = server.broker!.port
        // 3 from one address stay open, a 4th is closed at once
        const first = await silentSockets(port, otherAddress(1), 4)
        expect(await countClosed(first, 1000)).toBe(1)
        // 5 in all: 2 more from another address, a 3rd is closed at once
        const second = await silentSockets(port, otherAddress(2), 3)
        expect(await countClosed(second, 1000)).toBe(1)
        expect(server.broker!.stats()).toMatchObject({ refusedPerAddress: 1, refusedTotal: 1, timedOut: 0 })
    })

    test("--mqtt-login-deadline 1 closes a silent socket after a second, not the default 10", async () => {
        const server = await serverWith(["--mqtt-login-deadline", "1"])
        const silent = await rawSocket(server.broker!.port, otherAddress(1))
        sockets.push(silent.socket)
        expect(await closesWithin(silent.closed, 5000)).toBe(true)
        expect(server.broker!.stats().timedOut).toBe(1)
    })
})

describe("connections to the MQTTS listener", () => {
    test("count until their login too: silent or handshaken without a CONNECT, closed; logged in, kept", async () => {
        const dir = mkdtempSync(join(tmpdir(), "nightlight-hostile-tls-"))
        try {
            await makeCa(dir, "ca")
            await makeServerCert(dir, "ca", "server", "IP:127.0.0.1")
            const tls = { port: 0, cert: join(dir, "server.crt"), key: join(dir, "server.key") }
            const deadlineMs = 500
            const { broker } = await attacked(USERS, { connectionLimits: { deadlineMs }, tls })
            const ca = readFileSync(join(dir, "ca.crt"))
            const porch = await connectClient(broker.tlsUrl!, { username: "porch", password: "porch-password", ca })
            const porchClosed = new Promise<void>(resolve => porch.stream.once("close", () => resolve()))
            const silent = await rawSocket(broker.tlsPort!, otherAddress(1))
            sockets.push(silent.socket)
            const tcp = netConnect({ host: HOST, port: broker.tlsPort!, localAddress: otherAddress(2) })
            const handshaken = tlsConnect({ socket: tcp, host: HOST, ca })
            handshaken.on("error", () => undefined)
            sockets.push(handshaken)
            const handshakenClosed = new Promise<void>(resolve => handshaken.once("close", () => resolve()))
            await new Promise<void>(resolve => handshaken.once("secureConnect", () => resolve()))
            try {
                expect(await closesWithin(silent.closed, deadlineMs + 2000)).toBe(true)
                expect(await closesWithin(handshakenClosed, 2000)).toBe(true)
                expect(broker.stats().timedOut).toBe(2)
                expect(await closesWithin(porchClosed, deadlineMs)).toBe(false)
            } finally {
                await closeClient(porch)
            }
        } finally {
            rmSync(dir, { recursive: true, force: true })
        }
    })
})

describe("ConnectionGate", () => {
    test("closes a connection at its deadline (10 s by default), not before, and forgets it", () => {
        vi.useFakeTimers()
        try {
            const gate = new ConnectionGate({}, { setTimeout, clearTimeout: h => clearTimeout(h as NodeJS.Timeout) })
            const socket = { destroy: vi.fn() }
            const early = { destroy: vi.fn() }
            expect(gate.open(socket, "a")).toBe(true)
            expect(gate.open(early, "a")).toBe(true)
            gate.loggedIn(early)
            vi.advanceTimersByTime(CONNECTION_LIMITS.deadlineMs - 1)
            expect(socket.destroy).not.toHaveBeenCalled()
            vi.advanceTimersByTime(1)
            expect(socket.destroy).toHaveBeenCalledOnce()
            expect(early.destroy).not.toHaveBeenCalled()
            expect(gate.size).toBe(0)
            expect(gate.stats()).toEqual({ refusedPerAddress: 0, refusedTotal: 0, timedOut: 1 })
        } finally {
            vi.useRealTimers()
        }
    })

    test("this machine's own address has no cap of its own, only the total", () => {
        const gate = new ConnectionGate({ maxPerAddress: 2, maxTotal: 5 })
        const opened = Array.from({ length: 6 }, () => gate.open({ destroy: vi.fn() }, "127.0.0.1"))
        expect(opened).toEqual([true, true, true, true, true, false])
        expect(gate.stats()).toMatchObject({ refusedPerAddress: 0, refusedTotal: 1 })
    })

    test("a closed connection frees its address's place", () => {
        const gate = new ConnectionGate({ maxPerAddress: 2, maxTotal: 3 })
        const a = [{ destroy: vi.fn() }, { destroy: vi.fn() }, { destroy: vi.fn() }]
        expect(a.map(s => gate.open(s, "x"))).toEqual([true, true, false])
        gate.closed(a[0])
        expect(gate.open(a[2], "x")).toBe(true)
        expect(gate.open({ destroy: vi.fn() }, "y")).toBe(true)
        expect(gate.open({ destroy: vi.fn() }, "z")).toBe(false)
        expect(gate.stats()).toMatchObject({ refusedPerAddress: 1, refusedTotal: 1 })
        for (const s of a) gate.closed(s)
    })
})
