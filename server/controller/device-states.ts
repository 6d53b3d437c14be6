/**
 * The per-device states by id, made in one place with the live rule. At most `max` (--max-devices): a
 * client picks its ids, so once full new ids are refused and known devices go on.
 */
import { DeviceState } from "../device/state"
import type { DecisionRule } from "../device/types"

export interface DeviceLimit {
    max: number
    refused: (deviceId: string) => void
}

export class DeviceStates {
    private readonly states = new Map<string, DeviceState>()

    /**
     * `rule` is shared with every DeviceState, not copied: a change applies to their next decision; or
     * each device's own (its effective config), live the same way. `added` hears of each device the map
     * takes in, restored ones too.
     */
    constructor(
        private readonly rule: DecisionRule | ((deviceId: string) => DecisionRule),
        private readonly limit: DeviceLimit = { max: Infinity, refused: () => undefined },
        private readonly added: (deviceId: string) => void = () => undefined
    ) {}

    get(deviceId: string): DeviceState | undefined {
        return this.states.get(deviceId)
    }

    stateOf(deviceId: string): DeviceState | undefined {
        let state = this.states.get(deviceId)
        if (!state) {
            if (this.full(deviceId)) return undefined
            state = this.made(deviceId)
            this.states.set(deviceId, state)
            this.added(deviceId)
        }
        return state
    }

    /** Known before, so kept even beyond the cap. */
    restored(deviceId: string): DeviceState {
        let state = this.states.get(deviceId)
        if (!state) {
            state = this.made(deviceId)
            this.states.set(deviceId, state)
            this.added(deviceId)
        }
        return state
    }

    /** A new state is kept only if `takes` it: an ignored message must not create a device. */
    keepIfTaken(deviceId: string, takes: (state: DeviceState) => boolean): DeviceState | undefined {
        const known = this.states.get(deviceId)
        if (!known && this.full(deviceId)) return undefined
        const state = known ?? this.made(deviceId)
        if (!takes(state)) return undefined
        this.states.set(deviceId, state)
        if (!known) this.added(deviceId)
        return state
    }

    private made(deviceId: string): DeviceState {
        return new DeviceState(typeof this.rule === "function" ? this.rule(deviceId) : this.rule)
    }

    get size(): number {
        return this.states.size
    }

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
