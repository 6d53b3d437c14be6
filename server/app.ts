/**
 * Puts the server together from settings: an embedded broker with the in-process bus, or an mqtt.js
 * client to an external broker; then the controller. main.ts adds signals and the simulated device;
 * tests start exactly this.
 */
import { NightlightServer } from "./controller"
import { EmbeddedBroker } from "./embedded-broker"
import { EmbeddedBus } from "./embedded-bus"
import type { Logger } from "./logger"
import type { MessageBus } from "./message-bus"
import { MqttClientBus } from "./mqtt-client-bus"
import type { Settings } from "./settings"

export interface RunningServer {
    controller: NightlightServer
    bus: MessageBus
    /** Present when the broker is our own. */
    broker?: EmbeddedBroker
    /** How clients on this machine (the simulator, tests, mosquitto_pub) reach the broker. */
    brokerUrl: string
    stop(): Promise<void>
}

export interface StartOptions {
    /** For tests of outages: how often the external-broker client retries (ms). */
    reconnectPeriodMs?: number
}

export async function startServer(
    settings: Pick<Settings, "broker" | "threshold"> & Partial<Pick<Settings, "band">>,
    logger: Logger,
    options: StartOptions = {}
): Promise<RunningServer> {
    let broker: EmbeddedBroker | undefined
    let bus: MessageBus
    let brokerUrl: string
    if (settings.broker.kind === "embedded") {
        broker = new EmbeddedBroker({ host: settings.broker.host, port: settings.broker.port, logger })
        await broker.start()
        brokerUrl = broker.url
        bus = new EmbeddedBus(broker, logger)
    } else {
        brokerUrl = settings.broker.url
        bus = new MqttClientBus({ url: brokerUrl, logger, reconnectPeriodMs: options.reconnectPeriodMs })
    }
    const controller = new NightlightServer({ bus, logger, threshold: settings.threshold, band: settings.band })
    if (bus instanceof MqttClientBus) {
        // the first "online" is the start; later ones follow an outage the broker may not have survived whole
        let connectedBefore = false
        bus.on("online", () => {
            if (connectedBefore) controller.brokerReconnected()
            connectedBefore = true
        })
    }

    const stop = async () => {
        await controller.stop()
        await bus.stop()
        await broker?.stop()
    }
    try {
        // Subscribe first, so the bus makes the subscription as soon as it connects.
        await controller.start()
        await bus.start()
    } catch (error) {
        await stop().catch(() => undefined)
        throw error
    }
    return { controller, bus, broker, brokerUrl, stop }
}

/** Lines telling a user where the broker is and how to talk to the server by hand. */
export function howToTry(server: RunningServer, redactedUrl: string): string[] {
    const lines = [
        server.broker ? `MQTT broker listening on ${redactedUrl}` : `Using the MQTT broker at ${redactedUrl}`,
    ]
    const url = new URL(server.brokerUrl)
    if (url.protocol === "mqtt:") {
        const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
        const target = `-h ${host} -p ${url.port || 1883}`
        lines.push(
            `Try it: mosquitto_sub ${target} -t 'my-device/commands' -v   # in one terminal`,
            `        mosquitto_pub ${target} -t 'my-device/telemetry' -m '{"light": 120}'   # in another`
        )
    }
    return lines
}
