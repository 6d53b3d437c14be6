/**
 * A cap on the size of a client's MQTT packets, checked before aedes parses them: aedes (mqtt-packet)
 * buffers a packet whole with no limit. Reads each fixed header (MQTT 3.1.1 §2.2: type byte, then the
 * Remaining Length in 1-4 bytes of 7 bits) and skips the body, so the cost does not grow with size.
 */

/** Bytes after the fixed header; far above too_large (1 KB), so an oversized reading is still counted. */
export const MAX_PACKET_BYTES = 256 * 1024

export class PacketSizeGuard {
    private remaining = 0
    /** Bytes of the current fixed header read so far (type byte first); 0 between packets. */
    private headerBytes = 0
    /** The Remaining Length read so far, and the weight of its next 7 bits: numbers, no array per packet. */
    private length = 0
    private weight = 1

    constructor(private readonly maxBytes: number = MAX_PACKET_BYTES) {}

    /** A reason when a packet is too large or malformed; the caller closes the connection. */
    feed(chunk: Uint8Array): string | undefined {
        let i = 0
        while (i < chunk.length) {
            if (this.remaining > 0) {
                const skip = Math.min(this.remaining, chunk.length - i)
                this.remaining -= skip
                i += skip
                continue
            }
            const byte = chunk[i++]
            if (this.headerBytes++ === 0) continue // the type byte
            this.length += (byte & 0x7f) * this.weight
            this.weight *= 128
            // a continuation bit on the 4th length byte: not MQTT (§2.2.3 allows 4 bytes at most)
            if (byte & 0x80) {
                if (this.headerBytes === 5) return "a malformed packet length"
                continue
            }
            const length = this.length
            this.headerBytes = this.length = 0
            this.weight = 1
            if (length > this.maxBytes) return `a packet of ${length} bytes (the limit is ${this.maxBytes})`
            this.remaining = length
        }
        return undefined
    }
}
