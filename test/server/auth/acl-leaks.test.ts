/**
 * Issue 5's proof on the embedded broker: device A cannot publish to B's telemetry or commands, nor
 * read them, over an exhaustive list of topics and filters (test/helpers/acl-leaks.ts): 0 leaks. And the
 * same check finds plenty on a broker without logins, so a 0 is not the check failing to look.
 * The same check runs against Mosquitto with examples/mosquitto in test/interop/mosquitto-acl.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, test } from "vitest"
import { BrokerAuth } from "../../../server/auth/broker-auth"
import { saveCredentials, type Role, type Users } from "../../../server/auth/credentials"
import { hashPassword } from "../../../server/auth/password-hash"
import { UserStore } from "../../../server/auth/user-store"
import { EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { checkLeaks, type Login } from "../../helpers/acl-leaks"
import { HOST, recordingLogger } from "../../helpers/mqtt"

const dir = mkdtempSync(join(tmpdir(), "nightlight-leaks-"))
type Account = Login & { role: Role }
const logins: { a: Account; b: Account; server: Account; witness: Account } = {
    a: { username: "porch", password: "porch-password", role: "device" },
    b: { username: "kitchen", password: "kitchen-password", role: "device" },
    server: { username: "nightlight-server", password: "server-password", role: "server" },
    witness: { username: "root", password: "root-password", role: "admin" },
}
const started: { broker: EmbeddedBroker; store?: UserStore }[] = []

afterAll(async () => {
    for (const { broker, store } of started) {
        store?.stop()
        await broker.stop()
    }
    rmSync(dir, { recursive: true, force: true })
})

async function brokerWithLogins(): Promise<{ broker: EmbeddedBroker; auth: BrokerAuth }> {
    const users: Users = new Map()
    for (const { username, password, role } of Object.values(logins))
        users.set(username, { role, hash: await hashPassword(password, { N: 1024, r: 8, p: 1 }) })
    const file = join(dir, "users.json")
    await saveCredentials(file, users)
    const { logger } = recordingLogger("silent")
    const store = new UserStore({ file, logger })
    await store.start()
    const auth = new BrokerAuth({ users: store, allowAnonymous: false, logger })
    const broker = new EmbeddedBroker({ host: HOST, port: 0, logger, auth })
    await broker.start()
    started.push({ broker, store })
    return { broker, auth }
}

describe("device A against device B, the server and everyone else", () => {
    test("with logins: 0 leaks either way, over every topic and filter", async () => {
        const { broker, auth } = await brokerWithLogins()
        const forward = await checkLeaks({ url: broker.url, ...logins })
        const backward = await checkLeaks({ url: broker.url, ...logins, a: logins.b, b: logins.a })
        for (const report of [forward, backward]) {
            expect(report.tried.publishes).toBeGreaterThan(100)
            expect(report.tried.filters).toBeGreaterThan(60)
            expect(report.writeLeaks).toEqual([])
            expect(report.readLeaks).toEqual([])
            expect(report.grantedFilters).toEqual([])
        }
        console.log(
            `leak check on aedes: ${forward.tried.publishes} publishes and ${forward.tried.filters} filters each way, ` +
                `0 leaks; ${auth.stats().deniedPublishes} publishes dropped, ${auth.stats().deniedSubscribes} subscriptions refused`
        )
    })

    test("without logins the same check finds leaks (it is not blind)", async () => {
        const broker = new EmbeddedBroker({ host: HOST, port: 0, logger: recordingLogger("silent").logger })
        await broker.start()
        started.push({ broker })
        const report = await checkLeaks({ url: broker.url, ...logins, dollarTopics: false })
        expect(report.writeLeaks.length).toBeGreaterThan(50)
        expect(report.readLeaks.length).toBeGreaterThan(50)
        expect(report.grantedFilters).toContain("#")
    })
})
