/**
 * The devices whose row is to be written (Registry), kept by part (key modulo the number of parts), so
 * Store.flushSome() takes one part without looking up every dirty device's key (costly at fleet scale;
 * bench/README.md). A device whose key is not known yet counts as in every part: the next take() looks
 * it up, so a new device's row is written within one flushSome.
 */
import type { DeviceKeys } from "./device-keys"

export class DirtyParts {
    /** By part: the dirty devices whose key is known. */
    private byPart: Set<string>[]
    /** Dirty devices whose key was not known when they were marked. */
    private unkeyed = new Set<string>()

    constructor(
        readonly parts: number,
        private readonly keys: Pick<DeviceKeys, "cached" | "find">
    ) {
        if (!Number.isInteger(parts) || parts < 1)
            throw new RangeError(`parts must be a whole number ≥ 1, got ${parts}`)
        this.byPart = Array.from({ length: parts }, () => new Set<string>())
    }

    /** Marks `id` dirty (again: nothing changes). Looks at the key cache only, never the database. */
    add(id: string): void {
        if (this.unkeyed.size > 0 && this.unkeyed.has(id)) return
        const key = this.keys.cached(id)
        if (key === undefined) this.unkeyed.add(id)
        else this.byPart[key % this.parts].add(id)
    }

    get size(): number {
        let size = this.unkeyed.size
        for (const part of this.byPart) size += part.size
        return size
    }

    /** Every dirty device, now no longer marked. */
    takeAll(): Set<string> {
        const taken = this.unkeyed
        for (const part of this.byPart) for (const id of part) taken.add(id)
        this.clear()
        return taken
    }

    /**
     * The dirty devices of parts `first` to `first + count - 1` (round the end to the start), and those
     * whose key is still unknown, now no longer marked.
     */
    take(first: number, count: number): Set<string> {
        const parts = this.parts
        const inRange = (part: number) => (part - first + parts) % parts < count
        const taken = new Set<string>()
        for (const id of this.unkeyed) {
            const key = this.keys.find(id)
            if (key === undefined || inRange(key % parts)) taken.add(id)
            else this.byPart[key % parts].add(id)
        }
        this.unkeyed = new Set()
        for (let i = 0; i < Math.min(count, parts); i++) {
            const part = (first + i) % parts
            for (const id of this.byPart[part]) taken.add(id)
            this.byPart[part] = new Set()
        }
        return taken
    }

    clear(): void {
        this.unkeyed = new Set()
        this.byPart = Array.from({ length: this.parts }, () => new Set<string>())
    }
}
