/**
 * `<id>/commands`, `<id>/acks`, `<id>/status`: every server sees them all (unlike its share of the
 * telemetry), to rebuild after a restart and follow peers. Anything not ours is ignored, never thrown.
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
    ackAfterPeer: (deviceId: string) => void
    statusChanged: (event: StatusEvent) => void
    notDevices?: readonly string[]
}

export class StateTopics {
    private readonly notDevices: ReadonlySet<string>

    constructor(private readonly o: StateTopicsOptions) {
        this.notDevices = new Set([HOME_ASSISTANT_STATUS_ID, ...(o.notDevices ?? [])])
    }

    onCommand(topic: string, payload: Buffer): void {
        const deviceId = deviceOf(topic, "commands")
        if (deviceId === undefined) return
        const parsed = parseCommand(payload)
        if (!parsed.ok) return this.o.log.debug(`ignored a command on ${printable(topic)}: ${parsed.detail}`)
        const taken = this.o.devices.keepIfTaken(deviceId, s => s.commandSeen(parsed.value, this.o.timers.now()))
        if (!taken) return
        this.o.log.debug(`${deviceId}: took command ${parsed.value.seq} from the broker as the current one`)
    }

    /** A peer's ack reaching readings held here is answered at once, so acks hop until all are covered. */
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
