/**
 * The relay baselines' one subscriber, a child of the bench (bench/relay.ts starts it) so that its CPU is
 * neither the broker's nor the load generator's: subscribes to `+/telemetry` at QoS 0, counts every
 * message, and while recording times every 10th: now − the `sentAt` the load generator put in it. Both
 * processes read the same clock (`performance.timeOrigin + performance.now()`, absolute ms).
 *
 *   usage (with an IPC channel): node --import tsx bench/relay_subscriber.ts <broker url>
 * Messages: it sends {op: "ready"} once subscribed; it answers {id, op: "count" | "record" | "samples"}
 * with {id, count, samples?}. It exits when the bench goes away.
 */
import { connect } from "mqtt"

interface Request {
    id: number
    op: "count" | "record" | "samples"
}

const SENT_AT = '"sentAt":'
const url = process.argv[2]
if (!url || !process.send) {
    console.error("usage: node --import tsx bench/relay_subscriber.ts <broker url> (with an IPC channel)")
    process.exit(2)
}

let count = 0
let recording = false
let samples: number[] = []
const now = () => performance.timeOrigin + performance.now()

const client = connect(url, { clientId: `bench-relay-subscriber-${process.pid}`, clean: true, reconnectPeriod: 0 })
client.on("error", error => {
    console.error(`relay subscriber: ${error.message}`)
    process.exit(1)
})
client.on("close", () => {
    console.error("relay subscriber: the broker closed the connection")
    process.exit(1)
})
client.once("connect", () => {
    const stream = client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined
    stream?.setNoDelay?.(true)
    client
        .subscribeAsync("+/telemetry", { qos: 0 })
        .then(() => process.send!({ op: "ready" }))
        .catch((error: Error) => {
            console.error(`relay subscriber: subscribing failed: ${error.message}`)
            process.exit(1)
        })
})
client.on("message", (_topic, payload) => {
    count++
    if (!recording || count % 10 !== 0) return
    // no JSON.parse: this process must keep up with the broker at every rate
    const text = payload.toString("latin1")
    const at = text.indexOf(SENT_AT)
    if (at >= 0) samples.push(now() - Number.parseFloat(text.slice(at + SENT_AT.length)))
})

process.on("message", (request: Request) => {
    if (request.op === "record") {
        samples = []
        recording = true
        process.send!({ id: request.id, count })
    } else if (request.op === "samples") {
        recording = false
        process.send!({ id: request.id, count, samples })
        samples = []
    } else process.send!({ id: request.id, count })
})
// the bench went away (Ctrl-C, a crash): nothing else would end this process
process.on("disconnect", () => process.exit(0))
