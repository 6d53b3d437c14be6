/**
 * The per-device rules of the reliable link, without a broker: hysteresis, when a command is needed,
 * duplicates, gaps, boots, and the state rebuilt from retained messages. Time is passed in.
 */
import { describe, expect, test } from "vitest"
import { DeviceState, MISMATCH_RESEND_MS, REPEAT_MAX_AGE_MS } from "../../../server/device/state"
import type { TelemetryPayload } from "../../../server/protocol/contract"

const T0 = 1_700_000_000_000
const rule = { threshold: 300, band: 100 }
const fresh = () => new DeviceState(rule)

/** A reading of the lesson's device: light only. */
const lesson = (light: number): TelemetryPayload => ({ light })
/** A reading of our firmware. */
const ours = (seq: number, light: number, extra: Partial<TelemetryPayload> = {}): TelemetryPayload => ({
    light,
    seq,
    boot: "b1",
    ...extra,
})

describe("hysteresis", () => {
    test("on below the threshold, off from threshold + band, unchanged in between", () => {
        const d = fresh()
        const decide = (light: number) => d.reading(lesson(light), T0).ledOn
        expect(decide(299)).toBe(true)
        for (const light of [300, 350, 399]) expect(decide(light)).toBe(true)
        expect(decide(400)).toBe(false)
        for (const light of [399, 350, 300]) expect(decide(light)).toBe(false)
        expect(decide(299)).toBe(true)
    })

    test("the first decision in the band: the device's reported LED, else off", () => {
        expect(fresh().reading(lesson(350), T0).ledOn).toBe(false)
        expect(fresh().reading(ours(1, 350, { led: true }), T0).ledOn).toBe(true)
        expect(fresh().reading(ours(1, 350, { led: false }), T0).ledOn).toBe(false)
        // outside the band the light decides, whatever the LED is
        expect(fresh().reading(ours(1, 400, { led: true }), T0).ledOn).toBe(false)
        expect(fresh().reading(ours(1, 299, { led: false }), T0).ledOn).toBe(true)
    })

    test("the server's own decision wins over the reported LED as the state", () => {
        const d = fresh()
        d.reading(ours(1, 100), T0) // decided: on
        expect(d.reading(ours(2, 350, { led: false }), T0 + 10).ledOn).toBe(true)
    })

    test("band 0 is exactly the lesson's rule: on below 300, off from 300", () => {
        const d = new DeviceState({ threshold: 300, band: 0 })
        expect(d.reading(lesson(299), T0).ledOn).toBe(true)
        expect(d.reading(lesson(300), T0).ledOn).toBe(false)
        expect(d.reading(lesson(299.9), T0).ledOn).toBe(true)
        expect(d.reading(lesson(300), T0).ledOn).toBe(false)
    })
})

describe("when a command is sent", () => {
    test("(b) the first reading: a command with seq from the clock and t", () => {
        const out = fresh().reading(lesson(900), T0)
        expect(out.reason).toBe("first")
        expect(out.command).toEqual({ led_on: false, seq: T0, t: T0 })
    })

    test("(a) only when the decision changes, for the lesson's device too; seq strictly increases", () => {
        const d = fresh()
        const seqs: number[] = []
        const lights = [900, 800, 250, 200, 350, 450, 420, 100]
        const reasons = lights.map((light, i) => {
            const out = d.reading(lesson(light), T0 + i)
            if (out.command) seqs.push(out.command.seq!)
            return out.reason
        })
        expect(reasons).toEqual(["first", undefined, "changed", undefined, undefined, "changed", undefined, "changed"])
        expect(seqs).toEqual([T0, T0 + 2, T0 + 5, T0 + 7])
    })

    test("seq stays above the last one when the clock goes back", () => {
        const d = fresh()
        d.reading(lesson(900), T0)
        expect(d.reading(lesson(100), T0 - 60_000).command?.seq).toBe(T0 + 1)
    })

    test("(c) a reported LED that disagrees: at once, then at most once per MISMATCH_RESEND_MS", () => {
        const d = fresh()
        expect(d.reading(ours(1, 100, { led: false }), T0).reason).toBe("first")
        // readings sent before the command arrived still show the old LED: the command is in flight
        expect(d.reading(ours(2, 100, { led: false }), T0 + 500).command).toBeUndefined()
        expect(d.reading(ours(3, 100, { led: false }), T0 + MISMATCH_RESEND_MS - 1).command).toBeUndefined()
        const again = d.reading(ours(4, 100, { led: false }), T0 + MISMATCH_RESEND_MS)
        expect(again.reason).toBe("mismatch")
        expect(again.command).toMatchObject({ led_on: true, t: T0 + MISMATCH_RESEND_MS })
        // a device that keeps disagreeing for 10 s at 4 readings a second gets 5 commands, not 40
        let commands = 0
        for (let i = 1; i <= 40; i++)
            if (d.reading(ours(4 + i, 100, { led: false }), T0 + MISMATCH_RESEND_MS + i * 250).command) commands++
        expect(commands).toBe(5)
        // agreeing stops it
        expect(d.reading(ours(100, 100, { led: true }), T0 + 60_000).command).toBeUndefined()
    })

    test("(c) a device that decided locally, or rebooted with its LED off, is put right", () => {
        const d = fresh()
        d.reading(ours(1, 100, { led: true }), T0)
        const local = d.reading(ours(2, 350, { led: false, local: true }), T0 + 10_000)
        expect(local.ledOn).toBe(true)
        expect(local.reason).toBe("mismatch")
        const rebooted = d.reading({ light: 100, seq: 1, boot: "b2", led: false }, T0 + 20_000)
        expect(rebooted.reason).toBe("mismatch")
    })

    test("the mismatch rate limit is configurable", () => {
        const d = new DeviceState({ ...rule, mismatchResendMs: 100 })
        d.reading(ours(1, 100, { led: false }), T0)
        expect(d.reading(ours(2, 100, { led: false }), T0 + 99).command).toBeUndefined()
        expect(d.reading(ours(3, 100, { led: false }), T0 + 100).reason).toBe("mismatch")
    })

    test("(d) coming online: the next reading sends the decision again, decided on the light now", () => {
        const d = fresh()
        expect(d.status("online")).toEqual({ changed: true })
        d.reading(lesson(100), T0) // first: on
        expect(d.status("online")).toEqual({ changed: false })
        expect(d.reading(lesson(100), T0 + 1).command).toBeUndefined()
        expect(d.status("offline")).toEqual({ changed: true })
        expect(d.status("online")).toEqual({ changed: true })
        expect(d.snapshot().online).toBe(true)
        // rebooted in daylight: not the night's "on" again, but "off" for the light it reports
        expect(d.reading(lesson(900), T0 + 3)).toMatchObject({ command: { led_on: false }, reason: "changed" })
        d.status("offline")
        d.status("online")
        expect(d.reading(lesson(900), T0 + 4)).toMatchObject({ command: { led_on: false }, reason: "online" })
        expect(d.reading(lesson(900), T0 + 5).command).toBeUndefined()
    })

    test("after the server got back to its broker, the next reading sends the decision again, once", () => {
        const d = fresh()
        d.resync() // nothing decided yet: nothing to send again
        d.reading(lesson(100), T0) // first: on
        expect(d.reading(lesson(100), T0 + 1).command).toBeUndefined()
        d.resync()
        expect(d.reading(lesson(100), T0 + 2)).toMatchObject({ command: { led_on: true }, reason: "resync" })
        expect(d.reading(lesson(100), T0 + 3).command).toBeUndefined()
    })

    describe("after an outage, the outbox's old readings send no repeat; a recent one does", () => {
        // Our firmware: `t` is its uptime (ms); a reading at uptime u arrives at T0 + u when fresh.
        const at = (seq: number, light: number, uptime: number, led: boolean, local = false) =>
            ours(seq, light, { t: uptime, oldest: 1, led, local })
        /** Daylight before the outage: off, decided and acknowledged; the device's clock is known. */
        const beforeOutage = () => {
            const d = fresh()
            expect(d.reading(at(1, 800, 0, false), T0).reason).toBe("first")
            return d
        }

        test("a replayed daylight reading does not switch off the LED the device turned on in the dark", () => {
            const d = beforeOutage()
            d.status("offline")
            d.resync() // the server lost its broker too
            d.status("online") // 30 s later, back
            const back = T0 + 30_000
            // the outbox, oldest first: daylight, then the dark the device saw alone (LED on, local)
            expect(d.reading(at(2, 800, 2000, false), back).command).toBeUndefined()
            const dark = d.reading(at(3, 100, 4000, true, true), back + 1)
            expect(dark).toMatchObject({ command: { led_on: true }, reason: "changed" })
            expect(d.reading(at(4, 60, 20_000, true, true), back + 2).command).toBeUndefined()
            // the first fresh reading: nothing left to repeat, the "changed" command said it all
            expect(d.reading(at(5, 60, 30_003, true), back + 3).command).toBeUndefined()
        })

        test("with no change in the replay, the repeat goes with the first recent reading", () => {
            const d = beforeOutage()
            d.status("offline")
            d.status("online")
            const back = T0 + 30_000
            expect(d.reading(at(2, 800, 2000, false), back).command).toBeUndefined()
            expect(d.reading(at(3, 800, 20_000, false), back + 1).command).toBeUndefined()
            // taken a little over REPEAT_MAX_AGE_MS ago (the clock estimate may drift by 0.1%): still the outbox
            expect(d.reading(at(4, 800, 30_002 - REPEAT_MAX_AGE_MS - 100, false), back + 2).command).toBeUndefined()
            expect(d.reading(at(5, 800, 30_003, false), back + 3)).toMatchObject({
                command: { led_on: false },
                reason: "online",
            })
        })

        test("a late reading that changes the decision still sends it: under overload every reading is late", () => {
            const d = beforeOutage()
            const late = d.reading(at(2, 100, 2000, false), T0 + 2000 + 10 * REPEAT_MAX_AGE_MS)
            expect(late).toMatchObject({ command: { led_on: true }, reason: "changed" })
        })
    })

    test("a command the broker did not take is sent again with the next reading", () => {
        const d = fresh()
        const first = d.reading(lesson(100), T0).command!
        d.commandLost(first.seq! - 1) // an older one: nothing to do
        expect(d.reading(lesson(100), T0 + 1).command).toBeUndefined()
        d.commandLost(first.seq!)
        const retry = d.reading(lesson(100), T0 + 2)
        expect(retry.reason).toBe("retry")
        expect(retry.command).toMatchObject({ led_on: true })
        expect(d.reading(lesson(100), T0 + 3).command).toBeUndefined()
    })
})

describe("sequence numbers of readings", () => {
    test("acks name the boot and the highest reading; the lesson's readings get none", () => {
        const d = fresh()
        expect(d.reading(lesson(100), T0).ack).toBeUndefined()
        expect(d.reading(ours(1, 100), T0).ack).toEqual({ boot: "b1", seq: 1 })
        expect(d.reading(ours(2, 100), T0).ack).toEqual({ boot: "b1", seq: 2 })
        expect(d.ack()).toEqual({ boot: "b1", seq: 2 })
    })

    test("duplicates are counted and acknowledged, never decided on", () => {
        const d = fresh()
        d.reading(ours(1, 900), T0)
        d.reading(ours(2, 900), T0)
        // a replay of reading 1 with a dark light must not switch anything
        const dup = d.reading(ours(1, 100), T0 + 10_000)
        expect(dup).toEqual({
            duplicate: true,
            missing: 0,
            rebooted: false,
            ledOn: false,
            at: T0 + 10_000,
            ack: { boot: "b1", seq: 2 },
        })
        d.reading(ours(2, 100), T0 + 10_000)
        expect(d.snapshot()).toMatchObject({ duplicates: 2, lastSeq: 2, lastLight: 900, ledOn: false, gaps: 0 })
    })

    test("a gap counts the numbers that never came; dropped is the device's own count", () => {
        const d = fresh()
        expect(d.readingsLost()).toBe(false)
        d.reading(ours(1, 900, { dropped: 0 }), T0)
        expect(d.readingsLost()).toBe(false)
        const out = d.reading(ours(5, 900, { dropped: 7 }), T0)
        expect(out.missing).toBe(3)
        expect(out.ack).toEqual({ boot: "b1", seq: 5 })
        d.reading(ours(9, 900), T0) // no "dropped" field: the last report stands
        expect(d.snapshot()).toMatchObject({ gaps: 6, dropped: 7, lastSeq: 9 })
        expect(d.readingsLost()).toBe(true)
        // a late reading from inside a gap is below the highest: a duplicate
        expect(d.reading(ours(3, 900), T0).duplicate).toBe(true)
    })

    test("a device that says it discarded readings is flagged as losing some, with no gap seen", () => {
        const d = fresh()
        d.reading(ours(1, 900, { dropped: 0 }), T0)
        d.reading(ours(2, 900, { dropped: 2 }), T0)
        expect(d.snapshot()).toMatchObject({ gaps: 0, dropped: 2 })
        expect(d.readingsLost()).toBe(true)
    })

    test("a new boot starts again from 1; its first readings count as missing only for a known device", () => {
        const d = fresh()
        // a server that just started: the device's earlier readings went to another server
        expect(d.reading(ours(40, 900), T0)).toMatchObject({ missing: 0, rebooted: false })
        const reboot = d.reading({ light: 900, seq: 1, boot: "b2" }, T0)
        expect(reboot).toMatchObject({ duplicate: false, missing: 0, rebooted: true, ack: { boot: "b2", seq: 1 } })
        const late = d.reading({ light: 900, seq: 4, boot: "b3" }, T0)
        expect(late).toMatchObject({ missing: 3, rebooted: true })
        expect(d.snapshot()).toMatchObject({ boot: "b3", lastSeq: 4, gaps: 3, duplicates: 0 })
    })

    test("the snapshot reports what the device said last", () => {
        const d = fresh()
        expect(d.snapshot()).toEqual({
            lastLight: undefined,
            lastLightAt: undefined,
            ledOn: undefined,
            manual: false,
            commandSeq: 0,
            boot: undefined,
            lastSeq: 0,
            acked: 0,
            duplicates: 0,
            gaps: 0,
            dropped: 0,
            online: undefined,
            local: undefined,
            reportedLed: undefined,
        })
        d.reading(ours(1, 120, { led: true, local: true, dropped: 2 }), T0)
        expect(d.snapshot()).toMatchObject({ lastLight: 120, ledOn: true, commandSeq: T0, local: true, dropped: 2 })
        expect(d.snapshot().reportedLed).toBe(true)
    })
})

describe('acks wait for missing readings the device still holds ("oldest")', () => {
    test("a reading after a gap is stored, but the ack stays below the gap until it is filled", () => {
        const d = fresh()
        d.reading(ours(1, 900, { oldest: 1 }), T0)
        // 2 and 3 were sent while the server was down; 4 arrives first, the device still holds 2..4
        const out = d.reading(ours(4, 900, { oldest: 2 }), T0 + 10)
        expect(out).toMatchObject({ duplicate: false, missing: 0, ack: { boot: "b1", seq: 1 } })
        d.reading(ours(2, 900, { oldest: 2 }), T0 + 20)
        expect(d.reading(ours(3, 900, { oldest: 2 }), T0 + 30).ack).toEqual({ boot: "b1", seq: 4 })
        expect(d.snapshot()).toMatchObject({ acked: 4, lastSeq: 4, gaps: 0, duplicates: 0 })
    })

    test("readings below the device's oldest that never came are lost: counted once, and the ack moves on", () => {
        const d = fresh()
        d.reading(ours(1, 900, { oldest: 1 }), T0)
        // the device's full outbox dropped 2..5 before they could be sent
        const out = d.reading(ours(7, 900, { oldest: 6, dropped: 4 }), T0 + 10)
        expect(out.missing).toBe(4)
        expect(out.ack).toEqual({ boot: "b1", seq: 5 })
        expect(d.reading(ours(6, 900, { oldest: 6, dropped: 4 }), T0 + 20).ack).toEqual({ boot: "b1", seq: 7 })
        expect(d.snapshot()).toMatchObject({ gaps: 4, dropped: 4, acked: 7 })
    })

    test("a resent older reading is acknowledged and not counted again, but the LED follows the newest light", () => {
        const d = fresh()
        d.reading(ours(1, 900, { oldest: 1 }), T0) // off
        d.reading(ours(3, 100, { oldest: 2 }), T0 + 10) // dark: on
        const late = d.reading(ours(2, 900, { oldest: 2 }), T0 + 20) // older and bright: no decision
        expect(late.command).toBeUndefined()
        expect(late.ledOn).toBe(true)
        expect(d.reading(ours(2, 900, { oldest: 2 }), T0 + 30).duplicate).toBe(true)
        expect(d.snapshot()).toMatchObject({ ledOn: true, lastLight: 100, duplicates: 1, acked: 3 })
    })

    test("a server that starts late settles only what the device no longer holds", () => {
        const d = fresh()
        // the device holds 5..9 unacknowledged: nobody stored them yet
        expect(d.reading(ours(9, 900, { oldest: 5 }), T0).ack).toEqual({ boot: "b1", seq: 4 })
        for (const seq of [5, 6, 7, 8]) d.reading(ours(seq, 900, { oldest: 5 }), T0)
        expect(d.snapshot()).toMatchObject({ acked: 9, gaps: 0, duplicates: 0 })
    })

    test("a flood of out-of-order numbers cannot grow the state without bound", () => {
        const d = fresh()
        d.reading(ours(1, 900, { oldest: 1 }), T0)
        for (let seq = 3; seq < 6010; seq += 1) d.reading(ours(seq, 900, { oldest: 2 }), T0)
        expect(d.snapshot().acked).toBeGreaterThan(5000)
    })
})

describe("state rebuilt from retained messages", () => {
    test("a retained command: its decision is the hysteresis state and its seq carries on", () => {
        const d = fresh()
        expect(d.commandSeen({ led_on: true, seq: T0 - 5000, t: T0 - 5000 }, T0)).toBe(true)
        const out = d.reading(ours(1, 350), T0) // inside the band: stays on, no command needed
        expect(out.ledOn).toBe(true)
        expect(out.command).toBeUndefined()
        const change = d.reading(ours(2, 900), T0 + 1)
        expect(change.command!.seq).toBeGreaterThan(T0 - 5000)
    })

    test("our own command coming back, an older one, or one without seq changes nothing", () => {
        const d = fresh()
        const sent = d.reading(lesson(100), T0).command!
        expect(d.commandSeen(sent, T0)).toBe(false)
        expect(d.commandSeen({ led_on: false, seq: sent.seq! - 1 }, T0)).toBe(false)
        expect(d.commandSeen({ led_on: false }, T0)).toBe(false)
        expect(d.snapshot()).toMatchObject({ ledOn: true, commandSeq: sent.seq })
        // a newer one (another server) is adopted
        expect(d.commandSeen({ led_on: false, seq: sent.seq! + 10 }, T0)).toBe(true)
        expect(d.snapshot()).toMatchObject({ ledOn: false, commandSeq: sent.seq! + 10 })
    })

    test("another server's fresh command: the device's next reading, sent before it arrived, is no mismatch", () => {
        const d = fresh()
        d.reading(ours(1, 100, { led: true }), T0) // first command: on
        const peer = { led_on: false, seq: T0 + 1000, t: T0 + 1000 }
        expect(d.commandSeen(peer, T0 + 1005)).toBe(true)
        // bright, but the LED still on: the peer's command is on its way, not lost
        expect(d.reading(ours(2, 900, { led: true }), T0 + 1050).command).toBeUndefined()
        // still on 2 s after the peer's command: sent again
        const again = d.reading(ours(3, 900, { led: true }), T0 + 1000 + MISMATCH_RESEND_MS)
        expect(again).toMatchObject({ reason: "mismatch", command: { led_on: false } })
    })

    test("a retained command from long ago: a device that disagrees is told at once", () => {
        const d = fresh()
        expect(d.commandSeen({ led_on: false, seq: T0 - 60_000, t: T0 - 60_000 }, T0)).toBe(true)
        const out = d.reading(ours(1, 900, { led: true }), T0 + 10)
        expect(out).toMatchObject({ reason: "mismatch", command: { led_on: false } })
    })

    test("a device that restarted with its LED off is told at once, even right after another server's command", () => {
        const d = fresh()
        d.reading(ours(1, 100, { led: true }), T0)
        expect(d.commandSeen({ led_on: true, seq: T0 + 500, t: T0 + 500 }, T0 + 501)).toBe(true)
        const out = d.reading(ours(1, 100, { led: false, boot: "b2" }), T0 + 600)
        expect(out).toMatchObject({ rebooted: true, reason: "mismatch", command: { led_on: true } })
    })

    test("a device that came online needs no repeat once another server sent it a newer command", () => {
        const d = fresh()
        d.reading(ours(1, 100, { led: true }), T0)
        d.status("offline")
        d.status("online")
        expect(d.commandSeen({ led_on: true, seq: T0 + 500, t: T0 + 500 }, T0 + 501)).toBe(true)
        expect(d.reading(ours(2, 100, { led: true }), T0 + 600).command).toBeUndefined()
    })

    test("a retained ack: readings up to it are duplicates; the next one is new", () => {
        const d = fresh()
        expect(d.ackSeen({ boot: "b1", seq: 10 })).toBe(true)
        for (let seq = 1; seq <= 10; seq++) expect(d.reading(ours(seq, 100), T0).duplicate).toBe(true)
        const next = d.reading(ours(11, 100), T0)
        expect(next).toMatchObject({ duplicate: false, missing: 0, ack: { boot: "b1", seq: 11 } })
        expect(d.snapshot()).toMatchObject({ duplicates: 10, gaps: 0, lastSeq: 11 })
    })

    test("acks coming back are idempotent; one of another boot does not override the readings", () => {
        const d = fresh()
        d.reading(ours(5, 100), T0)
        expect(d.ackSeen({ boot: "b1", seq: 5 })).toBe(false)
        expect(d.ackSeen({ boot: "b1", seq: 3 })).toBe(false)
        expect(d.ackSeen({ boot: "old", seq: 99 })).toBe(false)
        expect(d.ackSeen({ boot: "b1", seq: 8 })).toBe(true) // another server acknowledged further
        expect(d.snapshot()).toMatchObject({ boot: "b1", lastSeq: 8 })
    })
})

describe("decisions made without a reading (groups, new settings) and by hand", () => {
    test("decide(): a changed decision is a command with the given reason; the same one is not", () => {
        const d = fresh()
        d.reading(ours(1, 500), T0) // off, first command
        expect(d.decide(false, T0 + 1, "group")).toEqual({ ledOn: false })
        const on = d.decide(true, T0 + 2, "group")
        expect(on).toMatchObject({ ledOn: true, reason: "group", command: { led_on: true } })
        expect(d.snapshot().ledOn).toBe(true)
    })

    test("decide() sends nothing to a device never commanded: its first reading brings the first command", () => {
        const d = fresh()
        expect(d.decide(true, T0, "group")).toEqual({ ledOn: true })
        expect(d.reading(ours(1, 500), T0 + 1, () => true)).toMatchObject({ ledOn: true, reason: "first" })
    })

    test("a group with no decision yet (undefined): no command, not even by the threshold; its first decision reaches the member", () => {
        const d = fresh()
        const outcome = d.reading(ours(1, 100), T0, () => undefined)
        expect(outcome).toMatchObject({ ledOn: undefined, ack: { boot: "b1", seq: 1 } })
        expect(outcome.command).toBeUndefined()
        expect(d.snapshot()).toMatchObject({ ledOn: undefined, commandSeq: 0 })
        // the group decides on another member's reading: this member reported, so it is told now
        expect(d.decide(true, T0 + 1, "group")).toMatchObject({
            ledOn: true,
            reason: "group",
            command: { led_on: true },
        })
    })

    test("a rule passed to reading() (a group's vote) replaces the threshold", () => {
        const d = fresh()
        expect(d.reading(ours(1, 900), T0, () => true)).toMatchObject({ ledOn: true, command: { led_on: true } })
        expect(d.reading(ours(2, 10), T0 + 1, () => false)).toMatchObject({ ledOn: false, reason: "changed" })
    })

    test("a manual switch holds until the automatic decision changes, then the rule takes over", () => {
        const d = fresh()
        d.reading(ours(1, 800), T0) // daylight: off
        expect(d.override(true, T0 + 1)).toMatchObject({ ledOn: true, reason: "manual", command: { led_on: true } })
        expect(d.snapshot()).toMatchObject({ ledOn: true, manual: true })
        // still daylight: the manual "on" stays, and a device reporting it on gets no command
        expect(d.reading(ours(2, 700, { led: true }), T0 + 2)).toMatchObject({ ledOn: true })
        expect(d.reading(ours(3, 700, { led: true }), T0 + 3).command).toBeUndefined()
        // dusk: the rule says on, which ends the override...
        expect(d.reading(ours(4, 100, { led: true }), T0 + 4)).toMatchObject({ ledOn: true })
        expect(d.snapshot().manual).toBe(false)
        // ...so dawn switches it off as usual
        expect(d.reading(ours(5, 800, { led: true }), T0 + 5)).toMatchObject({ ledOn: false, reason: "changed" })
    })

    test("a manual switch says so in its command; the rule's commands do not", () => {
        const d = fresh()
        expect(d.reading(ours(1, 800), T0).command).toEqual({ led_on: false, seq: T0, t: T0 })
        expect(d.override(true, T0 + 1).command).toEqual({ led_on: true, seq: T0 + 1, t: T0 + 1, manual: true })
    })

    test("another server's manual switch holds here too, until the automatic decision changes", () => {
        // two servers of a share group: this one decided off in daylight; a person switched on elsewhere
        const d = fresh()
        d.reading(ours(1, 800), T0)
        expect(d.commandSeen({ led_on: true, seq: T0 + 10, t: T0 + 10, manual: true }, T0 + 11)).toBe(true)
        expect(d.snapshot()).toMatchObject({ ledOn: true, manual: true })
        for (let seq = 2; seq <= 4; seq++)
            expect(d.reading(ours(seq, 750, { led: true }), T0 + seq * 2000)).toMatchObject({ ledOn: true })
        expect(d.reading(ours(5, 750, { led: true }), T0 + 10_000).command).toBeUndefined()
        // dusk ends it, dawn switches off as usual
        d.reading(ours(6, 100, { led: true }), T0 + 12_000)
        expect(d.reading(ours(7, 800, { led: true }), T0 + 14_000)).toMatchObject({ ledOn: false, reason: "changed" })
    })

    test("a retained manual switch after a restart holds from the first reading on", () => {
        const d = fresh() // nothing known: the automatic state it was made in is the first one seen
        expect(d.commandSeen({ led_on: false, seq: T0, t: T0, manual: true }, T0 + 5000)).toBe(true)
        expect(d.reading(ours(1, 100, { led: false }), T0 + 6000)).toMatchObject({ ledOn: false })
        expect(d.reading(ours(2, 100, { led: false }), T0 + 8000).command).toBeUndefined()
        // the rule's state changes (day), then night again: the rule is back in charge
        d.reading(ours(3, 800, { led: false }), T0 + 10_000)
        expect(d.reading(ours(4, 100, { led: false }), T0 + 12_000)).toMatchObject({ ledOn: true, reason: "changed" })
    })

    test("switching by hand to the state it is in sends nothing", () => {
        const d = fresh()
        d.reading(ours(1, 800), T0)
        expect(d.override(false, T0 + 1)).toEqual({ ledOn: false })
    })
})

describe("when a reading was taken", () => {
    test("from the device's uptime: a reading resent after an outage keeps its own time", () => {
        const d = fresh()
        // live readings: uptime 10 s arrives at T0 (5 ms in flight), 12 s at T0 + 2 s
        expect(d.reading(ours(1, 500, { t: 10_000 }), T0 + 5).at).toBe(T0 + 5)
        expect(d.reading(ours(2, 500, { t: 12_000 }), T0 + 2_003).at).toBe(T0 + 2_003)
        // a 30 s outage: readings 3..17 arrive together at T0 + 32 s
        const late = d.reading(ours(3, 500, { t: 14_000 }), T0 + 32_000).at
        expect(late).toBeGreaterThanOrEqual(T0 + 4_003)
        expect(late).toBeLessThan(T0 + 4_050) // not the time it arrived
    })

    test("times are whole ms, also while the drift allowance moves the clock (the history stores integers)", () => {
        const d = fresh()
        // a device clock slower than the server's: each reading looks 3 ms later than the last
        for (let seq = 1; seq <= 50; seq++) {
            const at = d.reading(ours(seq, 500, { t: seq * 1000 }), T0 + seq * 1003 + 0.4).at
            expect(Number.isInteger(at)).toBe(true)
        }
    })

    test("a replay to a server that never knew the device's clock: every reading a time of its own", () => {
        const d = fresh()
        // 20 readings taken 2 s apart arrive within 2 ms: each looks less delayed than the one before
        const times = Array.from(
            { length: 20 },
            (_, i) => d.reading(ours(i + 1, 500, { t: 2_000 * (i + 1) }), T0 + i / 10).at
        )
        expect(new Set(times).size).toBe(20)
        expect(times).toEqual([...times].sort((a, b) => a - b))
        // two lesson readings in one ms
        expect(d.reading(lesson(500), T0 + 50).at).not.toBe(d.reading(lesson(510), T0 + 50).at)
    })

    test("a reading without uptime is taken when it arrives; a new boot starts a new clock", () => {
        const d = fresh()
        expect(d.reading(lesson(500), T0).at).toBe(T0)
        d.reading(ours(1, 500, { t: 50_000 }), T0 + 100)
        expect(d.reading(ours(1, 500, { t: 1_000, boot: "b2" }), T0 + 200).at).toBe(T0 + 200)
    })
})
