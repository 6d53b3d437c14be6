/**
 * The nightlight service: light sensor → telemetry, commands → LED.
 * Hardware comes in as Jacdac roles, so the same code runs on a board (roles started from pins) and
 * in the simulator (roles bound to virtual hardware on the bus).
 */
import * as ds from "@devicescript/core"
import { MQTTClient, MQTTMessage, MQTTState, startMQTTClient } from "@devicescript/net"
import { Config, readConfig } from "./config"
import { LastReport, shouldReport, toLessonUnits } from "./light"
import { commandsTopic, decodeCommand, deviceClientId, encodeTelemetry, telemetryTopic } from "./protocol"


/** How often the periodic report is checked (ms); the report itself follows `config.report.intervalMs`. */
const TICK_MS = 250
/**
 * How often the MQTT client checks its connection and reconnects when it is down (ms). The library's
 * default is 50 s; a nightlight that was cut off should be back within seconds.
 */
const RECONNECT_CHECK_MS = 5000

/** Starts the nightlight on these roles, with the device's settings unless a config is given. */
export async function startNightlight(light: ds.LightLevel, led: ds.LightBulb, config?: Config): Promise<MQTTClient> {
    if (!config) config = await readConfig()
    const id = config.deviceId
    console.log(`nightlight: device ${id}, broker ${config.proto}://${config.host}:${config.port}`)

    const mqtt = await startMQTTClient({
        host: config.host,
        port: config.port,
        proto: config.proto,
        clientId: deviceClientId(id),
        username: config.user,
        password: config.password,
        watchdogInterval: RECONNECT_CHECK_MS,
    })
    mqtt.onconnect.subscribe(() => console.log("nightlight: connected to broker"))
    mqtt.onerror.subscribe(e => console.log(`nightlight: broker error: ${e.message}`))
    await mqtt.subscribe(commandsTopic(id), async (msg: MQTTMessage) => await applyCommand(msg))

    let ledOn: boolean = undefined
    async function applyCommand(msg: MQTTMessage) {
        const text = msg.content.toString()
        const cmd = decodeCommand(text)
        if (cmd.error) {
            console.log(`nightlight: ignored command: ${cmd.error}`)
            return
        }
        try {
            await led.intensity.write(cmd.ledOn ? 1 : 0)
        } catch (e) {
            console.log(`nightlight: LED write failed: ${(e as Error).message}`)
            return
        }
        if (ledOn !== cmd.ledOn) console.log(`nightlight: LED ${cmd.ledOn ? "on" : "off"}`)
        ledOn = cmd.ledOn
    }

    let current: number = undefined
    let last: LastReport = undefined
    let sending = false
    async function maybeReport() {
        // publish() while disconnected fails and logs a misleading "still sending": skip until connected
        if (current === undefined || sending || mqtt.readyState !== MQTTState.Connected) return
        const now = ds.millis()
        if (!shouldReport(last, current, now, config.report)) return
        sending = true
        const value = current
        try {
            // publish() returns false when not connected: the reading is simply reported later
            if (await mqtt.publish(telemetryTopic(id), encodeTelemetry(value))) {
                last = { light: value, at: now }
                console.log(`nightlight: light ${value}`)
            }
        } finally {
            sending = false
        }
    }

    light.reading.subscribe(async (ratio: number) => {
        current = toLessonUnits(ratio)
        await maybeReport()
    })
    setInterval(maybeReport, TICK_MS)
    return mqtt
}
