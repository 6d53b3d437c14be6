/**
 * The controller's per-device states (device/state.ts) by id: one map its helpers share, and one place a
 * state is made, with the live rule, so new settings reach every device. At most `max` (--max-devices):
 * a client picks the ids it publishes on, so made-up ids would be kept for ever; once full, new ids are
 * refused (`refused` is told) and known devices go on.
 */
import { DeviceState } from "../device/state"
import type { DecisionRule } from "../device/types"

export interface DeviceLimit {
    /** Devices known at most. */
    max: number
    /** A message from a new device was refused: the registry is full. */
    refused: (deviceId: string) => void
}

export class DeviceStates {
    private readonly states = new Map<string, DeviceState>()

    /** `rule` is shared with every DeviceState, not copied: a change applies to their next decision. */
    constructor(
        private readonly rule: DecisionRule,
        private readonly limit: DeviceLimit = { max: Infinity, refused: () => undefined }
    ) {}

    get(deviceId: string): DeviceState | undefined {
        return this.states.get(deviceId)
    }

    /** The device's state, made now if the server never heard of it; undefined when a new one is refused. */
    stateOf(deviceId: string): DeviceState | undefined {
        let state = this.states.get(deviceId)
        if (!state) {
            if (this.full(deviceId)) return undefined
            state = new DeviceState(this.rule)
            this.states.set(deviceId, state)
        }
        return state
    }

    /** A device from the store: known before, so kept even beyond the cap (which then only stops new ones). */
    restored(deviceId: string): DeviceState {
        let state = this.states.get(deviceId)
        if (!state) {
            state = new DeviceState(this.rule)
            this.states.set(deviceId, state)
        }
        return state
    }

    /**
     * The device's state (or a new one) is offered a message; it is kept only if `takes` returns true, so
     * a message the state ignores does not make the server know a device it never heard of.
     */
    keepIfTaken(deviceId: string, takes: (state: DeviceState) => boolean): DeviceState | undefined {
        const known = this.states.get(deviceId)
        if (!known && this.full(deviceId)) return undefined
        const state = known ?? new DeviceState(this.rule)
        if (!takes(state)) return undefined
        this.states.set(deviceId, state)
        return state
    }

    get size(): number {
        return this.states.size
    }

    /** Devices known at most (--max-devices). */
    get max(): number {
        return this.limit.max
    }

    private full(deviceId: string): boolean {
        if (this.states.size < this.limit.max) return false
        this.limit.refused(deviceId)
        return true
    }

    ids(): string[] {
        return [...this.states.keys()]
    }

    values(): IterableIterator<DeviceState> {
        return this.states.values()
    }

    /** In the order the devices became known. */
    [Symbol.iterator](): IterableIterator<[string, DeviceState]> {
        return this.states[Symbol.iterator]()
    }
}
