/**
 * A bare aedes broker on a plain TCP port, for the "aedes-relay" baseline: what the broker our server
 * embeds costs on its own, with none of our server around it (no logins, no packet-size guard, no rate
 * limit). Nagle is off on every socket, as in server/mqtt/embedded-broker.ts. A child of the bench (relay.ts).
 *
 *   usage: node --import tsx bench/aedes_relay.ts <host> <port>
 */
import { createServer } from "node:net"
import { Aedes } from "aedes"

const [host, portText] = process.argv.slice(2)
const port = Number(portText)
if (!host || !Number.isInteger(port) || port <= 0) {
    console.error(`usage: node --import tsx bench/aedes_relay.ts <host> <port>; got ${process.argv.slice(2).join(" ")}`)
    process.exit(2)
}

const aedes = await Aedes.createBroker()
// a client that drops mid-packet is routine under load; aedes closes it
aedes.on("clientError", () => undefined)
aedes.on("connectionError", () => undefined)
const server = createServer(socket => {
    socket.setNoDelay(true)
    aedes.handle(socket)
})
server.on("error", error => {
    console.error(`aedes relay: cannot listen on ${host}:${port}: ${error.message}`)
    process.exit(1)
})
server.listen(port, host)

const stop = () => {
    server.close()
    aedes.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 1000).unref()
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
