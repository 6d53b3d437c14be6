/**
 * Scale-out (docs/scale-out.md): several server processes on one Mosquitto share the telemetry with an
 * MQTT 5 shared subscription (--mqtt-share-group). A fleet of protocol-level devices (outbox, acks,
 * resend after 10 s, as the firmware) checks what users rely on: every reading stored once across the
 * servers' histories, every LED right, replay bursts acknowledged without the device resending, and a
 * server killed with SIGKILL mid-run losing nothing the protocol promised (an ack means "stored").
 *
 * Without the mosquitto binary this file warns loudly and skips, except under CI.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest"
import { Store } from "../../server/store"
import { RESEND_MIN_MS } from "../../src/link-state"
import { Mosquitto, requireMosquitto, skipWithoutMosquitto } from "../helpers/mosquitto"
import { closeClient, connectClient, freePort, until } from "../helpers/mqtt"
import { ReliableDevice } from "../helpers/reliable-device"
import { ServerProcess } from "../helpers/server-process"

const GROUP = "nightlights"
/** A reading's light says which reading it was (unique per device), and is far from the threshold's band. */
const lightOf = (k: number) => (Math.floor(k / 3) % 2 === 0 ? 100 + k : 900 + k)

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Every (device, light) a server stored, read as the server itself would after a restart (the Store
 * recovers what a killed server left half-way), once the server stopped.
 */
function storedReadings(server: ServerProcess): string[] {
    const store = new Store(server.databasePath)
    store.open()
    try {
        return store.registry
            .list()
            .flatMap(d => store.history.readings(d.id, 0, 8.64e15, 1e6).readings.map(r => `${d.id}:${r.light}`))
    } finally {
        store.close()
    }
}

function countOf(keys: string[]): Map<string, number> {
    const counts = new Map<string, number>()
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1)
    return counts
}

describe.skipIf(skipWithoutMosquitto("test/interop/scale-out.test.ts", "Scale-out with shared subscriptions"))(
    "several servers sharing one Mosquitto (--mqtt-share-group)",
    () => {
        let mosquitto: Mosquitto
        let servers: ServerProcess[] = []
        let devices: ReliableDevice[] = []

        beforeAll(async () => {
            requireMosquitto()
            mosquitto = new Mosquitto(await freePort())
            await mosquitto.start()
        })

        afterEach(async () => {
            await Promise.all(devices.map(d => d.close()))
            await Promise.all(servers.map(s => s.stop("SIGKILL")))
            for (const s of servers) s.cleanup()
            devices = []
            servers = []
        })

        afterAll(async () => {
            await mosquitto?.stop()
            mosquitto?.cleanup()
        })

        async function startServers(n: number, ...extra: string[]): Promise<void> {
            const args = ["--mqtt-url", mosquitto.url, "--mqtt-share-group", GROUP, "--log-level", "info", ...extra]
            servers = Array.from({ length: n }, () => new ServerProcess(args))
            for (const s of servers) s.start()
            // subscribed (the line lists the shared filter) means the broker hands this server its share
            await Promise.all(
                servers.map(s => s.waitFor(new RegExp(`subscribed to .*\\$share/${GROUP}/\\+/telemetry`)))
            )
        }

        async function startFleet(n: number, prefix: string): Promise<void> {
            devices = Array.from({ length: n }, (_, i) => new ReliableDevice(`${prefix}-${i}`))
            await Promise.all(devices.map(d => d.connect(mosquitto.url)))
        }

        /** `rounds` readings of every device, round-robin, one every `gapMs` across the fleet. */
        /** `light`: every reading this light; by default each reading's own (lightOf). */
        async function sendRounds(
            rounds: number,
            gapMs: number,
            during?: (sent: number) => Promise<void>,
            light?: number
        ) {
            let sent = 0
            for (let round = 0; round < rounds; round++)
                for (const d of devices) {
                    d.read(light ?? lightOf(d.lastSeq + 1))
                    await during?.(++sent)
                    await sleep(gapMs)
                }
        }

        const allAcked = () => devices.every(d => d.acked === d.lastSeq)

        async function allAcknowledged(ms: number): Promise<void> {
            await until("every device's last reading acknowledged", allAcked, ms)
        }

        /**
         * Every LED as its last light says. Two servers handling a replay burst may each answer the newest
         * reading they have seen, and the later command wins for a moment; the device, as the firmware
         * does, then reports its light again at once and every 2 s while it disagrees, and the first such
         * reading 2 s after the last command (MISMATCH_RESEND_MS) puts the LED right. A report sooner may
         * reach a server that has not seen the wrong command yet: it then has nothing to repeat.
         */
        async function ledsRight(): Promise<void> {
            const wrong = () => devices.filter(d => d.led !== d.taken.get(d.lastSeq)!.light < 300).map(d => d.id)
            await until("every LED to match its last light", () => wrong().length === 0 && allAcked(), 5000).catch(() =>
                expect(wrong(), "devices whose LED disagrees with their last light").toEqual([])
            )
        }

        /** What the devices took, as "device:light" → how many times. */
        function expectedReadings(): Map<string, number> {
            return countOf(devices.flatMap(d => [...d.taken.values()].map(r => `${d.id}:${r.light}`)))
        }

        const totalResends = () => devices.reduce((n, d) => n + d.resends, 0)

        test("three servers: each reading stored once by one of them, LEDs right, replays acked without resends", async () => {
            await startServers(3)
            await startFleet(24, "share")
            await sendRounds(12, 8)
            await allAcknowledged(10_000)
            await ledsRight()

            // A replay: six devices lose the network, take 40 readings each, and come back at once. Their
            // readings arrive in a burst and are spread over the three servers; the acks relay between
            // the servers until each device's whole outbox is covered, well within the device's 10 s resend.
            const away = devices.slice(0, 6)
            await Promise.all(away.map(d => d.disconnect()))
            for (let k = 0; k < 40; k++) for (const d of away) d.read(lightOf(d.lastSeq + 1))
            const back = Date.now()
            await Promise.all(away.map(d => d.connect(mosquitto.url)))
            await allAcknowledged(15_000)
            const replayMs = Date.now() - back
            expect(totalResends(), "resends (a device waited 10 s for an ack)").toBe(0)
            expect(replayMs).toBeLessThan(RESEND_MIN_MS)
            await ledsRight()

            expect(await Promise.all(servers.map(s => s.stop()))).toEqual([0, 0, 0])
            const perServer = servers.map(storedReadings)
            const taken = devices.reduce((n, d) => n + d.lastSeq, 0)
            expect(taken).toBeGreaterThanOrEqual(24 * 12 + 6 * 40)
            // stored exactly as often as taken (a light reported again is a reading of its own)
            expect(countOf(perServer.flat())).toEqual(expectedReadings())
            // each server handled a share (Mosquitto hands them out in turn)
            for (const readings of perServer) expect(readings.length).toBeGreaterThan(taken / 6)
        }, 60_000)

        test("a server killed with SIGKILL mid-run: every reading still stored, acked ones before the kill too", async () => {
            await startServers(2)
            await startFleet(16, "kill")
            const [victim, survivor] = servers
            const ackedAtKill = new Map<string, number>()
            await sendRounds(14, 10, async sent => {
                if (sent !== 16 * 6) return
                await victim.stop("SIGKILL")
                for (const d of devices) ackedAtKill.set(d.id, d.acked)
            })
            // readings the victim took without acknowledging come again after the device's 10 s resend
            await allAcknowledged(25_000)
            await ledsRight()
            expect(await survivor.stop()).toBe(0)

            const fromVictim = storedReadings(victim)
            const fromSurvivor = storedReadings(survivor)
            const stored = countOf([...fromVictim, ...fromSurvivor])
            const expected = expectedReadings()
            const lost = [...expected].filter(([key, n]) => (stored.get(key) ?? 0) < n)
            expect(lost, "readings lost").toEqual([])
            // Acked before the kill means stored before the kill, by one of the two.
            for (const d of devices) {
                const promised = [...d.taken.values()].filter(r => r.seq <= ackedAtKill.get(d.id)!)
                for (const r of promised) expect(stored.has(`${d.id}:${r.light}`)).toBe(true)
            }
            // A reading stored more often than taken can only be one the victim stored but never acknowledged.
            const victimHas = new Set(fromVictim)
            const extra = [...stored].filter(([key, n]) => n > (expected.get(key) ?? 0)).map(([key]) => key)
            expect(
                extra.filter(key => !victimHas.has(key)),
                "copies not explained by the kill"
            ).toEqual([])
            expect(fromVictim.length).toBeGreaterThan(0)
            expect(fromSurvivor.length).toBeGreaterThan(fromVictim.length)
            console.log(
                `scale-out kill: victim stored ${fromVictim.length}, survivor ${fromSurvivor.length}, ` +
                    `copies ${extra.length}, device resends ${totalResends()}`
            )
        }, 60_000)

        test("a switch from Home Assistant holds on every server until the automatic decision changes", async () => {
            await startServers(2, "--ha-discovery")
            await startFleet(4, "ha")
            await sendRounds(2, 20, () => Promise.resolve(), 900) // daylight: off
            await ledsRight()
            const home = await connectClient(mosquitto.url)
            try {
                // one server takes the switch (a shared subscription); its command says "manual"
                for (const d of devices) await home.publishAsync(`nightlight/${d.id}/set`, "ON")
                await until("every LED switched on by hand", () => devices.every(d => d.led))
                // readings in daylight reach both servers: neither undoes the switch
                await sendRounds(6, 20, () => Promise.resolve(), 900)
                await allAcknowledged(10_000)
                expect(devices.map(d => d.led)).toEqual([true, true, true, true])
                // dusk ends the override, dawn switches off as usual
                await sendRounds(2, 20, () => Promise.resolve(), 100)
                await sendRounds(2, 20, () => Promise.resolve(), 900)
                await until("every LED off at dawn", () => devices.every(d => !d.led))
            } finally {
                await closeClient(home)
            }
        }, 60_000)
    }
)
