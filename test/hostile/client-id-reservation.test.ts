/**
 * The firmware's client id is predictable (`<id>nightlight_client`), so any logged-in user could hold a
 * device's id first and lock the device out. A device's own client id is reserved for the user of that
 * name; its owner always gets in, taking the id over from whoever holds it (MQTT's own take-over).
 */
import { connect, type IClientOptions, type MqttClient } from "mqtt"
import { afterEach, expect, test } from "vitest"
import { clientIds } from "../../server/protocol/contract"
import { closeClient, connectClient, within } from "../helpers/mqtt"
import { loginOf, startSecuredBroker, type SecuredBroker } from "../helpers/secured-broker"

const running: SecuredBroker[] = []
const clients: MqttClient[] = []
afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => closeClient(c)))
    for (const s of running.splice(0)) await s.stop()
})

async function client(s: SecuredBroker, options: IClientOptions): Promise<MqttClient> {
    const c = await connectClient(s.broker.url, options)
    clients.push(c)
    return c
}

const HALL = clientIds.device("hall")

test("another user may not use a device's client id, even before the device connects (CONNACK 5)", async () => {
    const s = await startSecuredBroker({ hall: "device", kitchen: "device", watcher: "observer" })
    running.push(s)
    for (const intruder of ["kitchen", "watcher"])
        await expect(connectClient(s.broker.url, { ...loginOf(intruder), clientId: HALL })).rejects.toMatchObject({
            code: 5,
        })
    // the device gets in at once, and nobody was taken over
    await client(s, { ...loginOf("hall"), clientId: HALL })
    expect(s.auth.stats()).toMatchObject({ takeoversRefused: 2 })
    expect(s.log()).toContain(
        `MQTT login refused for kitchen from 127.0.0.1: client id ${HALL} belongs to another user`
    )
})

test("ids that only look alike are not reserved: hallway's id is not hall's", async () => {
    const s = await startSecuredBroker({ hall: "device", kitchen: "device" })
    running.push(s)
    await client(s, { ...loginOf("kitchen"), clientId: clientIds.device("hallway") })
    await client(s, { ...loginOf("kitchen"), clientId: "hall" })
})

test("the device takes its id back from whoever holds it (a user added while the intruder was in)", async () => {
    const s = await startSecuredBroker({ kitchen: "device" })
    running.push(s)
    const intruder = await client(s, { ...loginOf("kitchen"), clientId: HALL })
    await s.addUsers({ hall: "device" })
    const closed = new Promise<void>(resolve => intruder.once("close", () => resolve()))
    const hall = await client(s, { ...loginOf("hall"), clientId: HALL })
    await within(3000, "the intruder's connection to be closed", closed)
    expect(hall.connected).toBe(true)
})

test("a session someone else stored under a device's id is dropped when the device comes, not inherited", async () => {
    const s = await startSecuredBroker({ kitchen: "observer" }, { sessions: { deviceSessions: true } })
    running.push(s)
    const intruder = await connectClient(s.broker.url, { ...loginOf("kitchen"), clientId: HALL, clean: false })
    await within(5000, "the intruder's subscription", intruder.subscribeAsync("hall/commands", { qos: 1 }))
    await closeClient(intruder)
    await s.addUsers({ hall: "device" })
    const hall = connect(s.broker.url, { ...loginOf("hall"), clientId: HALL, clean: false, reconnectPeriod: 0 })
    clients.push(hall)
    const connack = await within(
        5000,
        "hall's CONNACK",
        new Promise<{ sessionPresent: boolean }>(resolve => hall.once("connect", resolve))
    )
    expect(connack.sessionPresent).toBe(false)
})
