/**
 * MQTT 3.1.1 §3.1.3-8: a CONNECT with an empty client id and clean session off must get CONNACK 2
 * (identifier rejected): the broker would make a session under an id nobody knows, which nobody could
 * resume or clean. With a clean session the broker picks an id (§3.1.3-6). mqtt.js refuses to send such a
 * CONNECT, so these are raw packets.
 */
import { afterEach, expect, test } from "vitest"
import { connectPacket, rawConnack } from "../helpers/raw-mqtt"
import { loginOf, startSecuredBroker, type SecuredBroker } from "../helpers/secured-broker"

const running: SecuredBroker[] = []
afterEach(async () => {
    for (const s of running.splice(0)) await s.stop()
})

test.each([
    ["a logged-in user", false, loginOf("porch")],
    ["an anonymous client", true, {}],
])(
    "%s: empty client id with clean session off gets CONNACK 2; with clean session on, 0",
    async (_, anonymous, login) => {
        const s = await startSecuredBroker(
            { porch: "device", viewer: "observer" },
            { allowAnonymous: anonymous, sessions: { deviceSessions: true } }
        )
        running.push(s)
        expect(await rawConnack(s.broker.port, connectPacket("", { clean: false, ...login }))).toEqual({
            returnCode: 2,
            sessionPresent: false,
        })
        expect(await rawConnack(s.broker.port, connectPacket("", { clean: true, ...login }))).toEqual({
            returnCode: 0,
            sessionPresent: false,
        })
        expect(s.auth.stats().sessionsRefused).toBe(1)
    }
)
