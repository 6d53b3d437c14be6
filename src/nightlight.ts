/**
 * The nightlight service: light sensor → telemetry, commands → LED, over a link that survives outages.
 * Readings go through the outbox (kept until the server acknowledges them, replayed in order after a
 * reconnect); when the server is silent the device switches its LED itself with the server's rule.
 * Hardware comes in as Jacdac roles, so the same code runs on a board (roles started from pins) and
 * in the simulator (roles bound to virtual hardware on the bus).
 */
import * as ds from "@devicescript/core"
import { Config, readConfig } from "./config"
import { decideWithBand, LastReport, shouldReport, toLessonUnits } from "./light"
import { LinkState } from "./link-state"
import { MqttConnection } from "./mqtt-client"
import { Outbox } from "./outbox"
import { newBootId } from "./random"
import {
    acksTopic,
    CommandResult,
    commandsTopic,
    decodeAck,
    decodeCommand,
    deviceClientId,
    encodeTelemetry,
    statusTopic,
    telemetryTopic,
} from "./protocol"

/** How often reports, resends and the server's silence are checked (ms). */
const TICK_MS = 250
/** Readings sent per tick while catching up, so a long backlog does not starve everything else. */
const BATCH = 20

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
    // sequence numbers start again at 1 with each boot; the boot id tells the server which run they count
    const boot = newBootId()
    say(`device ${id} (boot ${boot}), broker ${config.proto}://${config.host}:${config.port}`)

    const outbox = new Outbox(config.outboxSize)
    const link = new LinkState(ds.millis(), config.localAfterMs)
    const mqtt = new MqttConnection({
        host: config.host,
        port: config.port,
        proto: config.proto,
        clientId: deviceClientId(id),
        username: config.user,
        password: config.password,
        will: { topic: statusTopic(id), payload: "offline", qos: 1, retain: true },
        log: (m: string) => say(`broker: ${m}`),
    })

    let ledOn = false
    let local = false
    /** The light now (lesson units), and the last reading stored. */
    let current: number = undefined
    let last: LastReport = undefined
    /** The rule's decision for the last reading stored (shouldReport); undefined: the LED's state. */
    let ruleState: boolean = undefined
    async function setLed(on: boolean, why: string) {
        await led.intensity.write(on ? 1 : 0)
        if (ledOn !== on) say(`LED ${on ? "on" : "off"} (${why})`)
        ledOn = on
    }

    mqtt.onconnect.subscribe(async () => {
        // everything not yet acknowledged goes again, in order, on the new connection
        outbox.rewind()
        await mqtt.publish(statusTopic(id), "online", true)
        await pump()
    })
    /** A retained command that came before the first light reading: judged once the light is known. */
    let heldRetained: CommandResult = undefined
    async function applyCommand(cmd: CommandResult, retained: boolean) {
        // A retained command is the server's last word, maybe from before a reboot or an outage. One
        // that the server's own rule contradicts for the light now is stale: the server sends a fresh
        // one after the next reading, and the LED does not flash the old state meanwhile. A person's
        // switch is meant to hold against the light: it is applied as it is.
        if (retained && !cmd.manual) {
            if (current === undefined) {
                heldRetained = cmd
                return
            }
            const { threshold, band } = config.report
            // by design, not a fault: worded so the simulator does not report it as a warning
            if (decideWithBand(current, cmd.ledOn, threshold, band) !== cmd.ledOn)
                return say(`retained command ${cmd.seq} not applied: stale for the light now (${current})`)
        }
        link.heard(ds.millis())
        if (!link.acceptCommand(cmd.seq)) {
            // every reconnect brings the retained command back: the one applied last is no news
            if (retained && cmd.seq === link.lastCommand()) return say(`retained command ${cmd.seq}: applied already`)
            return say(`ignored stale command ${cmd.seq}: ${link.lastCommand()} was applied already`)
        }
        if (cmd.seq > 0) say(`command ${cmd.seq}: LED ${cmd.ledOn ? "on" : "off"}`)
        const changed = cmd.ledOn !== ledOn
        await setLed(cmd.ledOn, "server")
        // report the switch with the next sample: the server (and its dashboard) see the LED as it is now,
        // not up to REPORT_MS later
        if (changed) last = undefined
    }
    // QoS 1: our server's commands are retained with QoS 1, so a reconnecting device gets the current one
    await mqtt.subscribe(
        commandsTopic(id),
        async (topic: string, payload: Buffer, retained: boolean) => {
            const cmd = decodeCommand(payload.toString())
            if (cmd.error) return say(`ignored command: ${cmd.error}`)
            await applyCommand(cmd, retained)
        },
        1
    )
    await mqtt.subscribe(acksTopic(id), async (topic: string, payload: Buffer) => {
        const ack = decodeAck(payload.toString())
        if (ack.error) return say(`ignored ack: ${ack.error}`)
        const now = ds.millis()
        link.heard(now)
        // an ack of an earlier boot (retained) still tells us this server stores readings
        link.acked(now, ack.boot === boot && outbox.ack(ack.seq) > 0)
    })

    /** Stores a reading when the report policy says so, and sends what is due. */
    async function record() {
        if (current === undefined) return
        const now = ds.millis()
        const state = ruleState === undefined ? ledOn : ruleState
        if (!shouldReport(last, current, now, config.report, state)) return
        outbox.add(now, current, ledOn, local)
        last = { light: current, at: now }
        ruleState = decideWithBand(current, state, config.report.threshold, config.report.band)
        await pump()
    }

    let pumping = false
    async function pump() {
        if (pumping || !mqtt.isConnected()) return
        pumping = true
        try {
            const now = ds.millis()
            if (link.acking && outbox.size() > outbox.unsent() && link.resendDue(now)) outbox.rewind()
            const batch = outbox.takeUnsent(BATCH)
            let sent = 0
            for (const r of batch) {
                if (
                    !(await mqtt.publish(
                        telemetryTopic(id),
                        encodeTelemetry(r, boot, outbox.oldestSeq(), outbox.dropped)
                    ))
                ) {
                    outbox.untake(batch.length - sent)
                    break
                }
                sent++
            }
            if (sent === 1) say(`light ${batch[0].light} (seq ${batch[0].seq})`)
            else if (sent > 1) say(`sent ${sent} readings, seq ${batch[0].seq}..${batch[sent - 1].seq}`)
            // the lesson's server never acknowledges: what reached the broker is delivered, as in the lesson
            if (!link.acking) outbox.clearSent()
        } finally {
            pumping = false
        }
    }

    /** The server's silence decides who switches the LED. */
    async function decideLocally() {
        const now = ds.millis()
        const wasLocal = local
        local = link.isLocal(now)
        if (local !== wasLocal) say(local ? "the server is silent: deciding locally" : "the server is back in charge")
        if (!local || current === undefined) return
        const want = decideWithBand(current, ledOn, config.report.threshold, config.report.band)
        if (want === ledOn) return
        await setLed(want, "local")
        last = undefined // report the switch at once
    }

    light.reading.subscribe(async (ratio: number) => {
        current = toLessonUnits(ratio)
        if (heldRetained !== undefined) {
            const cmd = heldRetained
            heldRetained = undefined
            await applyCommand(cmd, true)
        }
        await record()
    })
    setInterval(async () => {
        await decideLocally()
        await record()
        await pump()
    }, TICK_MS)
    mqtt.start()
    return mqtt
}
