/**
 * The state topics every server sees: `<id>/commands`, `<id>/acks` and `<id>/status`. After a restart
 * the devices' state comes back from the broker's retained commands, acks and status; while running,
 * these carry our own messages coming back and, in a share group (docs/scale-out.md), the other
 * servers'. Kept apart from the telemetry, which only this server's share of the readings brings.
 * Anything that is not ours is logged at debug level and ignored, never thrown.
 */
import type { StatusEvent } from "./events"
import type { DeviceStates } from "./device-states"
import type { GroupCoordinator } from "../groups/coordinator"
import { printable, type Logger } from "../util/logger"
import { parseTopic } from "../protocol/contract"
import { parseAck, parseCommand, parseStatus } from "../protocol/parse"
import type { Timers } from "../util/clock"

/** Not a device: Home Assistant's birth topic `homeassistant/status` matches `+/status`. */
export const HOME_ASSISTANT_STATUS_ID = "homeassistant"

export interface StateTopicsOptions {
    devices: DeviceStates
    groups: GroupCoordinator
    log: Logger
    timers: Timers
    /** Readings this server holds right after a peer's ack are to be acknowledged now (AckSender). */
    ackAfterPeer: (deviceId: string) => void
    /** A device went online or offline (the controller's "status" event). */
    statusChanged: (event: StatusEvent) => void
    /** Ids whose status topic is not a device's (NightlightServerOptions.notDevices). */
    notDevices?: readonly string[]
}

export class StateTopics {
    private readonly notDevices: ReadonlySet<string>

    constructor(private readonly o: StateTopicsOptions) {
        this.notDevices = new Set([HOME_ASSISTANT_STATUS_ID, ...(o.notDevices ?? [])])
    }

    /** A retained command (rebuild), our own coming back, or another server's. */
    onCommand(topic: string, payload: Buffer): void {
        const deviceId = deviceOf(topic, "commands")
        if (deviceId === undefined) return
        const parsed = parseCommand(payload)
        if (!parsed.ok) return this.o.log.debug(`ignored a command on ${printable(topic)}: ${parsed.detail}`)
        const taken = this.o.devices.keepIfTaken(deviceId, s => s.commandSeen(parsed.value, this.o.timers.now()))
        if (!taken) return
        this.o.log.debug(`${deviceId}: took command ${parsed.value.seq} from the broker as the current one`)
    }

    /**
     * A retained ack (rebuild), our own coming back, or another server's (a share group). When another
     * server's ack reaches readings this one holds right after it, this server acknowledges them at once:
     * with readings spread over several servers, the acks go back and forth until all are covered.
     */
    onAck(topic: string, payload: Buffer): void {
        const deviceId = deviceOf(topic, "acks")
        if (deviceId === undefined) return
        const parsed = parseAck(payload)
        if (!parsed.ok) return this.o.log.debug(`ignored an ack on ${printable(topic)}: ${parsed.detail}`)
        const state = this.o.devices.keepIfTaken(deviceId, s => s.ackSeen(parsed.value))
        if (!state) return
        this.o.log.debug(`${deviceId}: readings up to ${parsed.value.seq} of boot ${parsed.value.boot} are stored`)
        if ((state.ack()?.seq ?? 0) > parsed.value.seq) this.o.ackAfterPeer(deviceId)
    }

    onStatus(topic: string, payload: Buffer): void {
        const deviceId = deviceOf(topic, "status")
        // Home Assistant announces itself on `homeassistant/status` ("online"/"offline"), on our pattern.
        if (deviceId === undefined || this.notDevices.has(deviceId)) return
        const status = parseStatus(payload)
        // An empty payload clears a retained status; anything else is not ours to interpret.
        if (status === undefined) return this.o.log.debug(`ignored status ${printable(payload.toString())}`)
        const { changed } = this.o.devices.stateOf(deviceId)?.status(status) ?? { changed: false }
        if (!changed) return
        this.o.log.info(status === "online" ? `${deviceId} is online` : `${deviceId} went offline`)
        this.o.statusChanged({ deviceId, online: status === "online" })
        // an offline member stops voting: its group may decide otherwise now
        const group = this.o.groups.groupOf(deviceId)
        if (group !== undefined) this.o.groups.revote(group, this.o.timers.now(), "group")
    }
}

/** The device id of a state topic of this kind; undefined (ignored) for anything else. */
function deviceOf(topic: string, kind: "commands" | "acks" | "status"): string | undefined {
    const where = parseTopic(topic)
    return where?.kind === kind ? where.deviceId : undefined
}
