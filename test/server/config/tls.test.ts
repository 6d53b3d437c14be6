/**
 * The embedded broker's MQTTS listener (EmbeddedBroker `tls`, server/config/tls.ts): a CA and a server
 * certificate made here with the openssl CLI, as docs/security.md tells a user to; real TLS clients
 * (mqtt.js) on 127.0.0.1. A client that trusts the CA connects; one that does not is refused; plain and
 * TLS do not mix; and unusable files stop the start with a message naming the file.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import type { MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { BrokerAuth } from "../../../server/auth/broker-auth"
import { saveCredentials } from "../../../server/auth/credentials"
import { hashPassword } from "../../../server/auth/password-hash"
import { UserStore } from "../../../server/auth/user-store"
import { BrokerStartError, EmbeddedBroker } from "../../../server/mqtt/embedded-broker"
import { loadTlsFiles } from "../../../server/config/tls"
import { makeCa as makeCaIn, makeServerCert as makeServerCertIn } from "../../helpers/certificates"
import { HOST, Inbox, closeClient, connectClient, recordingLogger } from "../../helpers/mqtt"

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), "nightlight-tls-"))
const path = (name: string) => join(dir, name)
const { logger } = recordingLogger("silent")

const makeCa = (name: string) => makeCaIn(dir, name)
const makeServerCert = (ca: string, name: string, altNames: string) => makeServerCertIn(dir, ca, name, altNames)

let broker: EmbeddedBroker
let store: UserStore
const clients: MqttClient[] = []
const login = { username: "porch", password: "porch-password" }

beforeAll(async () => {
    await Promise.all([makeCa("ca"), makeCa("other-ca")])
    await makeServerCert("ca", "server", "IP:127.0.0.1,DNS:localhost")
    await saveCredentials(
        path("users.json"),
        new Map([["porch", { role: "device", hash: await hashPassword(login.password, { N: 1024, r: 8, p: 1 }) }]])
    )
    store = new UserStore({ file: path("users.json"), logger })
    await store.start()
    const auth = new BrokerAuth({ users: store, allowAnonymous: true, logger })
    const tls = { port: 0, cert: path("server.crt"), key: path("server.key") }
    broker = new EmbeddedBroker({ host: HOST, port: 0, logger, auth, tls })
    await broker.start()
})

afterAll(async () => {
    await Promise.all(clients.map(c => closeClient(c)))
    store?.stop()
    await broker?.stop()
    rmSync(dir, { recursive: true, force: true })
})

async function client(url: string, options: Parameters<typeof connectClient>[1] = {}): Promise<MqttClient> {
    const c = await connectClient(url, options)
    clients.push(c)
    return c
}

describe("the MQTTS listener", () => {
    test("beside the plain one, on the same broker; its URL and certificate are reported", () => {
        expect(broker.tlsUrl).toBe(`mqtts://127.0.0.1:${broker.tlsPort}`)
        expect(broker.tlsPort).not.toBe(broker.port)
        expect(broker.tlsCertificate).toMatchObject({
            names: ["127.0.0.1", "localhost"],
            expired: false,
            selfSigned: false,
        })
    })

    test("a client with the right CA connects, logs in, and talks with a plain client on the same broker", async () => {
        const ca = readFileSync(path("ca.crt"))
        const secure = await client(broker.tlsUrl!, { ca, ...login })
        const plain = await client(broker.url)
        const readings = await Inbox.open(plain, "porch/telemetry")
        secure.publish("porch/telemetry", '{"light":42}')
        expect(await readings.next()).toMatchObject({ payload: '{"light":42}' })
        await closeClient(await connectClient(`mqtts://localhost:${broker.tlsPort}`, { ca, ...login }))
    })

    /** Node's word for a certificate signed by nobody it trusts (the server sends no CA along). */
    const UNTRUSTED = "UNABLE_TO_VERIFY_LEAF_SIGNATURE"

    test("a client without the CA is refused, and so is one that trusts another CA", async () => {
        await expect(connectClient(broker.tlsUrl!, login)).rejects.toMatchObject({ code: UNTRUSTED })
        await expect(
            connectClient(broker.tlsUrl!, { ...login, ca: readFileSync(path("other-ca.crt")) })
        ).rejects.toMatchObject({ code: UNTRUSTED })
    })

    test("a client that expects another host name is refused", async () => {
        const ca = readFileSync(path("ca.crt"))
        await expect(
            connectClient(broker.tlsUrl!, { ...login, ca, servername: "broker.example.org" })
        ).rejects.toMatchObject({
            code: "ERR_TLS_CERT_ALTNAME_INVALID",
        })
    })

    test("plain MQTT on the TLS port fails, and TLS on the plain port fails", async () => {
        await expect(
            connectClient(`mqtt://${HOST}:${broker.tlsPort}`, { ...login, connectTimeout: 2000 })
        ).rejects.toThrow()
        const ca = readFileSync(path("ca.crt"))
        await expect(
            connectClient(`mqtts://${HOST}:${broker.port}`, { ...login, ca, connectTimeout: 2000 })
        ).rejects.toThrow()
    })
})

describe("unusable certificate files stop the start, naming the file", () => {
    const attempt = async (files: { cert: string; key: string; ca?: string }) => {
        const b = new EmbeddedBroker({ host: HOST, port: 0, logger, tls: { port: 0, ...files } })
        try {
            await b.start()
        } finally {
            await b.stop()
        }
    }

    test.each([
        [
            "a missing certificate",
            { cert: "missing.crt", key: "server.key" },
            /cannot read the TLS certificate file .*missing\.crt: no such file/,
        ],
        [
            "a key given as the certificate",
            { cert: "server.key", key: "server.key" },
            /the TLS certificate file .*server\.key holds no PEM certificate/,
        ],
        [
            "a certificate given as the key",
            { cert: "server.crt", key: "server.crt" },
            /the TLS key file .*server\.crt holds no usable private key/,
        ],
        [
            "the key of another certificate",
            { cert: "server.crt", key: "ca.key" },
            /the TLS key in .*ca\.key does not belong to the certificate in .*server\.crt/,
        ],
        [
            "a missing CA file",
            { cert: "server.crt", key: "server.key", ca: "nope.crt" },
            /cannot read the TLS CA file .*nope\.crt/,
        ],
    ])("%s", async (_what, files: { cert: string; key: string; ca?: string }, message) => {
        const full = { cert: path(files.cert), key: path(files.key), ca: files.ca && path(files.ca) }
        const error = await attempt(full).catch(e => e)
        expect(error).toBeInstanceOf(BrokerStartError)
        expect(error.message).toMatch(message)
    })

    test("an encrypted key: says to decrypt it", async () => {
        await run("openssl", [
            "pkey",
            "-in",
            path("server.key"),
            "-out",
            path("locked.key"),
            "-aes256",
            "-passout",
            "pass:secret",
        ])
        const error = await attempt({ cert: path("server.crt"), key: path("locked.key") }).catch(e => e)
        expect(error.message).toMatch(/locked\.key is encrypted with a passphrase; .* openssl pkey -in/)
    })

    test("an expired certificate loads but says so (the server warns at start)", async () => {
        const later = new Date(Date.now() + 5 * 86_400_000)
        const loaded = await loadTlsFiles({ cert: path("server.crt"), key: path("server.key") }, later)
        expect(loaded.info.expired).toBe(true)
    })
})
