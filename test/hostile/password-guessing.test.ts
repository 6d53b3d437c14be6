/**
 * docs/security.md "Logins that fail": an attacker guesses one device's password from many addresses
 * (127.0.0.x stand for them). The lock-out per address alone gave each address 10 guesses a minute,
 * and an address that had not failed yet got the right password in at once. Now a user name that
 * failed 10 times within a minute gets one password check per 3 s from addresses it has not logged in
 * from (the others: CONNACK 3, try again), while the device itself, from its usual address, gets in.
 * The clock is the test's: BrokerAuth takes it as an option.
 */
import { afterEach, describe, expect, test } from "vitest"
import { BROKER_AUTH_DEFAULTS } from "../../server/auth/broker-auth"
import { attackedBroker, otherAddress, rawLogin, type AttackedBroker } from "../helpers/attacker"

const USERS = { porch: ["device", "porch-password"] as ["device", string] }
const { userCheckIntervalMs, windowMs, maxUserFailures } = BROKER_AUTH_DEFAULTS
const running: AttackedBroker[] = []
const sockets: { destroy(): void }[] = []

afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy()
    for (const b of running.splice(0)) await b.stop()
})

async function setup(limits: Partial<typeof BROKER_AUTH_DEFAULTS> = {}) {
    const clock = { now: 1_000_000 }
    const b = await attackedBroker(USERS, { auth: { clock: () => clock.now, limits } })
    running.push(b)
    const login = async (from: string, password: string) => {
        const { code, socket } = await rawLogin(b.broker.port, from, "porch", password, `c-${Math.random()}`)
        sockets.push(socket)
        socket.destroy()
        return code
    }
    return { ...b, clock, login }
}

describe("guessing one user's password from many addresses", () => {
    test("after 10 failures the name is slowed, not locked: new addresses wait, the device's own gets in", async () => {
        const { login, clock, auth } = await setup()
        const usual = otherAddress(0)
        expect(await login(usual, "porch-password")).toBe(0)

        const codes: (number | string)[] = []
        for (let a = 1; a <= 5; a++)
            for (let i = 0; i < 10; i++) codes.push(await login(otherAddress(a), `guess-${a}-${i}`))
        // the first address's 10 guesses are checked; then one check for all the others together
        expect(codes.filter(c => c === 4)).toHaveLength(maxUserFailures + 1)
        expect(codes.filter(c => c === 3)).toHaveLength(50 - maxUserFailures - 1)
        expect(auth.stats().slowedDown).toBe(50 - maxUserFailures - 1)
        // the first address is locked out: even the right password is refused unchecked
        expect(await login(otherAddress(1), "porch-password")).toBe(5)

        // the right password from an address that never logged in: slowed like a guess
        expect(await login(otherAddress(20), "porch-password")).toBe(3)
        // the device from its usual address is not slowed
        expect(await login(usual, "porch-password")).toBe(0)
        // a new address gets its check once the interval has passed: slowed, never locked out
        clock.now += userCheckIntervalMs
        expect(await login(otherAddress(21), "porch-password")).toBe(0)
        // and a minute without failures ends the slow-down
        clock.now += windowMs
        expect(await login(otherAddress(22), "porch-password")).toBe(0)
    })

    test("150 logins at once for unknown names: past the checks that may wait, CONNACK 3", async () => {
        // unknown names are checked against the dummy hash, made with the real (slow, ~55 ms) parameters;
        // 10 may wait here instead of 100, so that the test does not wait 100 of them on a loaded machine
        const maxWaiting = 10
        const { broker, auth } = await setup({ maxWaiting })
        const attempts = Array.from({ length: 150 }, (_, i) =>
            rawLogin(broker.port, otherAddress(1 + (i % 30)), `nobody-${i}`, "guess").then(({ code, socket }) => {
                socket.destroy()
                return code
            })
        )
        const codes = await Promise.all(attempts)
        const busy = codes.filter(c => c === 3).length
        expect(busy).toBeGreaterThanOrEqual(100) // nearly all of 150 - 10 waiting - 2 running
        expect(busy + codes.filter(c => c === 4).length).toBe(150)
        expect(auth.stats()).toMatchObject({ busy, failedLogins: 150 - busy })
        expect(auth.stats().passwordChecks).toBe(150 - busy)
    })

    test("300 guesses from 30 addresses over a minute: about 10 + 60 s / 3 s of them are checked", async () => {
        const { login, clock, auth } = await setup()
        const before = auth.stats().passwordChecks
        for (let i = 0; i < 300; i++) {
            await login(otherAddress(1 + (i % 30)), `guess-${i}`)
            clock.now += windowMs / 300
        }
        const checked = auth.stats().passwordChecks - before
        expect(checked).toBeGreaterThanOrEqual(maxUserFailures)
        expect(checked).toBeLessThanOrEqual(maxUserFailures + windowMs / userCheckIntervalMs + 1)
    })
})
