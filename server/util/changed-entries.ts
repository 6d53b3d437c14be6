/**
 * A Map that remembers which entries changed since it was last saved, so a save writes those alone (a row
 * each) rather than the whole map. A key set back to its saved value is no change.
 */
export class ChangedEntries<K, V> extends Map<K, V> {
    /** The saved value of each key changed since the last save (undefined: it had none). */
    private readonly saved = new Map<K, V | undefined>()

    constructor(private readonly same: (a: V, b: V) => boolean) {
        super()
    }

    override set(key: K, value: V): this {
        this.remember(key)
        return super.set(key, value)
    }

    override delete(key: K): boolean {
        this.remember(key)
        return super.delete(key)
    }

    override clear(): void {
        for (const key of this.keys()) this.remember(key)
        super.clear()
    }

    /** Loads a saved entry: no change. */
    restore(key: K, value: V): void {
        super.set(key, value)
    }

    /** A saved entry that was not loaded (a hand-edited row): the next save removes it. */
    dropSaved(key: K): void {
        // unlike any value: the row is rewritten or deleted, whatever the map holds then
        this.saved.set(key, DROPPED as V)
    }

    /** The entries to write since the last save; undefined: the row goes. */
    changes(): Map<K, V | undefined> {
        const out = new Map<K, V | undefined>()
        for (const [key, before] of this.saved) {
            const now = this.get(key)
            const unchanged =
                before !== DROPPED &&
                (now === undefined ? before === undefined : before !== undefined && this.same(before, now))
            if (!unchanged) out.set(key, now)
        }
        return out
    }

    /** The changes were written: nothing is changed any more. */
    markSaved(): void {
        this.saved.clear()
    }

    private remember(key: K): void {
        if (!this.saved.has(key)) this.saved.set(key, this.get(key))
    }
}

const DROPPED = Symbol("dropped")
