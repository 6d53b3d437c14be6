/**
 * Dirty devices by part (key modulo parts), so flushSome() takes one part without looking up every key
 * (costly at fleet scale; bench/README.md). A device with no known key yet is in every part.
 */
import type { DeviceKeys } from "./device-keys"

export class DirtyParts {
    private byPart: Set<string>[]
    private unkeyed = new Set<string>()

    constructor(
        readonly parts: number,
        private readonly keys: Pick<DeviceKeys, "cached" | "find">
    ) {
        if (!Number.isInteger(parts) || parts < 1)
            throw new RangeError(`parts must be a whole number ≥ 1, got ${parts}`)
        this.byPart = Array.from({ length: parts }, () => new Set<string>())
    }

    /** The key cache only, never the database. */
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

    takeAll(): Set<string> {
        const taken = this.unkeyed
        for (const part of this.byPart) for (const id of part) taken.add(id)
        this.clear()
        return taken
    }

    /** Parts `first` to `first + count - 1` (wrapping), and those whose key is still unknown. */
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
