/**
 * aedes-persistence 11's memory store with each client id's QoS 1 queue capped: aedes queues every QoS 1
 * message for every stored session, so one login could fill memory. The queue is ours, the rest the base's.
 */
import { createRequire } from "node:module"
import { Readable } from "node:stream"
import type { AedesPacket } from "aedes-packet"

/** The parts of aedes-persistence's MemoryPersistence we call or override (its types ship apart). */
interface MemoryPersistenceBase {
    setup(broker: unknown): Promise<void>
    cleanSubscriptions(client: { id: string }): Promise<void>
    cleanIncoming(client: { id: string }): Promise<void>
    delWill(client: { id: string }): Promise<unknown>
}

const require = createRequire(import.meta.url)
// CommonJS, and not named by the package's main entry (which wraps it in a callback layer aedes does not need)
const MemoryPersistence = require("aedes-persistence/asyncPersistence.js") as new () => MemoryPersistenceBase
const Packet = require("aedes-packet") as new (original: object) => AedesPacket

type Queued = AedesPacket & { messageId?: number }

export class SessionStore extends MemoryPersistence {
    private readonly queues = new Map<string, Queued[]>()

    /** onDropped: the oldest message queued for `clientId` was dropped to make room for a newer one. */
    constructor(
        private readonly maxQueued: number,
        private readonly onDropped: (clientId: string) => void
    ) {
        super()
    }

    queued(clientId: string): number {
        return this.queues.get(clientId)?.length ?? 0
    }

    /** Its connection, if any, is the caller's to close. */
    async forget(clientId: string): Promise<void> {
        const client = { id: clientId }
        this.queues.delete(clientId)
        await this.cleanSubscriptions(client)
        await this.cleanIncoming(client)
        await this.delWill(client)
    }

    // aedes' outgoing* calls, as in MemoryPersistence but on the capped queues

    async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
        this.enqueue(sub.clientId, packet)
    }

    async outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPacket): Promise<void> {
        for (const sub of subs) this.enqueue(sub.clientId, packet)
    }

    private enqueue(clientId: string, packet: AedesPacket): void {
        let queue = this.queues.get(clientId)
        if (!queue) this.queues.set(clientId, (queue = []))
        queue.push(new Packet(packet))
        if (queue.length <= this.maxQueued) return
        queue.shift()
        this.onDropped(clientId)
    }

    /**
     * A queued message is being sent with a packet id. MemoryPersistence throws when the message is not
     * in the queue, which makes aedes close the client: here that only means it was dropped from a full
     * queue, so it is still sent (its PUBACK then finds nothing to clear).
     */
    async outgoingUpdate(client: { id: string }, packet: Queued): Promise<void> {
        const queue = this.queues.get(client.id) ?? []
        for (let i = 0; i < queue.length; i++) {
            const queued = queue[i]
            if (queued.brokerId === packet.brokerId) {
                if (queued.brokerCounter === packet.brokerCounter) {
                    queued.messageId = packet.messageId
                    return
                }
                // the same packet id with another counter: packet ids wrap at 65535; keep looking
            } else if (queued.messageId === packet.messageId) {
                queue[i] = packet
                return
            }
        }
    }

    async outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<Queued | undefined> {
        const queue = this.queues.get(client.id)
        if (!queue) return undefined
        const i = queue.findIndex(queued => queued.messageId === packet.messageId)
        if (i < 0) return undefined
        const [cleared] = queue.splice(i, 1)
        if (queue.length === 0) this.queues.delete(client.id)
        return cleared
    }

    outgoingStream(client: { id: string }): Readable {
        // a copy: aedes clears entries while it streams them
        return Readable.from([...(this.queues.get(client.id) ?? [])])
    }
}
