/**
 * The controller's per-device states (device-state.ts), by device id: one map that the controller and
 * its helpers (controller-commands.ts, controller-groups.ts, controller-state-topics.ts) share, and one
 * place where a state is made, always with the same live rule, so that new settings reach every device.
 */
import { DeviceState, type DecisionRule } from "./device-state"

export class DeviceRegistry {
    private readonly states = new Map<string, DeviceState>()

    /** `rule` is shared with every DeviceState, not copied: a change applies to their next decision. */
    constructor(private readonly rule: DecisionRule) {}

    get(deviceId: string): DeviceState | undefined {
        return this.states.get(deviceId)
    }

    /** The device's state, made now if the server never heard of it. */
    stateOf(deviceId: string): DeviceState {
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
        const state = this.states.get(deviceId) ?? new DeviceState(this.rule)
        if (!takes(state)) return undefined
        this.states.set(deviceId, state)
        return state
    }

    get size(): number {
        return this.states.size
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
