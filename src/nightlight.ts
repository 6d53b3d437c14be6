/**
 * The nightlight service: light sensor → telemetry, commands → LED.
 * Hardware comes in as Jacdac roles, so the same code runs on a board (roles started from pins) and
 * in the simulator (roles bound to virtual hardware on the bus).
 */
import * as ds from "@devicescript/core"
import { Config, readConfig } from "./config"
import { LastReport, shouldReport, toLessonUnits } from "./light"
import { MqttConnection } from "./mqtt-client"
import { commandsTopic, decodeCommand, deviceClientId, encodeTelemetry, telemetryTopic } from "./protocol"

/** How often the periodic report is checked (ms); the report itself follows `config.report.intervalMs`. */
const TICK_MS = 250

function say(message: string) {
    console.log(`nightlight: ${message}`)
}

/** Starts the nightlight on these roles, with the device's settings unless a config is given. */
export async function startNightlight(
    light: ds.LightLevel,
    led: ds.LightBulb,
    config?: Config
): Promise<MqttConnection> {
    if (!config) config = await readConfig()
    const id = config.deviceId
    say(`device ${id}, broker ${config.proto}://${config.host}:${config.port}`)

    const mqtt = new MqttConnection({
        host: config.host,
        port: config.port,
        proto: config.proto,
        clientId: deviceClientId(id),
        username: config.user,
        password: config.password,
        log: (m: string) => say(`broker: ${m}`),
    })

    let ledOn: boolean = undefined
    await mqtt.subscribe(commandsTopic(id), async (topic: string, payload: Buffer) => {
        const cmd = decodeCommand(payload.toString())
        if (cmd.error) {
            say(`ignored command: ${cmd.error}`)
            return
        }
        await led.intensity.write(cmd.ledOn ? 1 : 0)
        if (ledOn !== cmd.ledOn) say(`LED ${cmd.ledOn ? "on" : "off"}`)
        ledOn = cmd.ledOn
    })

    let current: number = undefined
    let last: LastReport = undefined
    let sending = false
    async function maybeReport() {
        if (current === undefined || sending || !mqtt.isConnected()) return
        const now = ds.millis()
        if (!shouldReport(last, current, now, config.report)) return
        sending = true
        const value = current
        try {
            // false when the connection just dropped: the reading is simply reported later
            if (await mqtt.publish(telemetryTopic(id), encodeTelemetry(value))) {
                last = { light: value, at: now }
                say(`light ${value}`)
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
    mqtt.start()
    return mqtt
}
