/**
 * `<id>/telemetry`: validate, decide (device state or group vote), announce, command, queue the ack.
 * Apart from state-topics.ts: in a share group this server sees only its share of the readings.
 */
import type { AckSender } from "./ack-sender"
import type { CommandSender } from "./commands"
import type { DeviceStates } from "./device-states"
import type { ServerStats, TelemetryEvent } from "./events"
import type { GroupCoordinator } from "../groups/coordinator"
import type { TelemetryRejections } from "./rejections"
import type { Decide } from "../device/types"
import { printable, type Logger } from "../util/logger"
import { DEVICE_ID_RULE, parseTopic } from "../protocol/contract"
import { parseTelemetry } from "../protocol/parse"
import type { Timers } from "../util/clock"

export interface TelemetryHandlerOptions {
    devices: DeviceStates
    groups: GroupCoordinator
    commands: CommandSender
    acks: AckSender
    rejections: TelemetryRejections
    log: Logger
    timers: Timers
    counters: Pick<ServerStats, "received">
    received: (event: TelemetryEvent) => void
    /** The config version the reading says the device runs, and why it refused one (device-config.ts). */
    configReported: (deviceId: string, version: number | undefined, error: string | undefined) => void
}

export class TelemetryHandler {
    constructor(private readonly o: TelemetryHandlerOptions) {}

    onTelemetry(topic: string, payload: Buffer): void {
        const { log, groups } = this.o
        this.o.counters.received++
        const where = parseTopic(topic)
        if (!where || where.kind !== "telemetry") {
            const detail = `expected <id>/telemetry with an id of ${DEVICE_ID_RULE}`
            this.o.rejections.reject(topic, "bad_topic", detail)
            return
        }
        const parsed = parseTelemetry(payload)
        if (!parsed.ok) {
            this.o.rejections.reject(topic, parsed.reason, parsed.detail)
            return
        }
        const { deviceId } = where
        const reading = parsed.value
        const now = this.o.timers.now()
        const group = groups.groupOf(deviceId)
        let groupChanged = false
        // A member's reading makes its group vote again; the vote is the member's decision too.
        const decide: Decide | undefined =
            group === undefined
                ? undefined
                : () => {
                      const vote = groups.vote(group, now)
                      groupChanged = vote.changed
                      return vote.ledOn
                  }
        const state = this.o.devices.stateOf(deviceId)
        if (!state) return // a new device, and the registry is full: counted and logged by the controller
        this.o.configReported(deviceId, reading.cfg, reading.cfgErr)
        const outcome = state.reading(reading, now, decide)
        // The line per reading is built only when it is logged: under load it cost more than it says.
        if (log.isLevelEnabled(outcome.duplicate ? "debug" : "info")) {
            const text = printable(payload.toString("utf8"))
            if (outcome.duplicate) log.debug(`Message received again (a duplicate): ${text} from ${deviceId}`)
            else log.info(`Message received: ${text} from ${deviceId}`)
        }
        if (outcome.rebooted) log.info(`${deviceId} restarted (boot ${reading.boot})`)
        if (outcome.missing > 0)
            log.info(`${deviceId}: ${outcome.missing} reading(s) before seq ${reading.seq} never arrived`)

        this.o.received({
            deviceId,
            light: reading.light,
            at: outcome.at,
            reportedLed: reading.led,
            local: reading.local,
            ledOn: outcome.ledOn,
            duplicate: outcome.duplicate,
            seq: reading.seq,
        })
        if (outcome.command) this.o.commands.sendCommand(deviceId, outcome.command, outcome.reason!)
        // The other members are told of a new decision; this device has it in the command above.
        if (group !== undefined && !outcome.duplicate) groups.voted(group, now, groupChanged, "group", deviceId)
        if (outcome.ack) this.o.acks.due(deviceId, outcome.duplicate)
    }
}
