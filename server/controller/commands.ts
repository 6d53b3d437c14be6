/**
 * Commands, retained with QoS 1 so a reconnecting device or restarted server finds the current one.
 * Every sender of decisions goes through here, so each is logged, announced and counted alike.
 */
import type { ServerStats, CommandEvent } from "./events"
import type { DeviceStates } from "./device-states"
import type { CommandReason, Decision } from "../device/types"
import type { Logger } from "../util/logger"
import type { MessageBus, PublishOptions } from "../mqtt/message-bus"
import { encode, topics, type CommandPayload } from "../protocol/contract"
import type { Timers } from "../util/clock"

const COMMAND_DELIVERY: PublishOptions = { qos: 1, retain: true }

export interface CommandSenderOptions {
    bus: MessageBus
    log: Logger
    timers: Timers
    devices: DeviceStates
    counters: Pick<ServerStats, "commandsSent" | "commandsFailed">
    sent: (event: CommandEvent) => void
}

export class CommandSender {
    constructor(private readonly o: CommandSenderOptions) {}

    send(deviceId: string, decision: Decision): void {
        if (decision.command) this.sendCommand(deviceId, decision.command, decision.reason!)
    }

    sendCommand(deviceId: string, command: CommandPayload, reason: CommandReason): void {
        const { log, counters } = this.o
        const text = encode("commands", command)
        if (log.isLevelEnabled("info")) log.info(`Sending message: ${text} to ${deviceId}`)
        const at = command.t ?? this.o.timers.now()
        this.o.sent({ deviceId, command, reason, at })
        this.o.bus.publish(topics.commands(deviceId), text, COMMAND_DELIVERY).then(
            () => counters.commandsSent++,
            (err: Error) => {
                counters.commandsFailed++
                this.o.devices.get(deviceId)?.commandLost(command.seq!)
                log.warn(`could not send the command to ${deviceId}: ${err.message}`)
            }
        )
    }
}
