/**
 * Writes what the controller sees into the store: before each ack (Store.commit), and on a timer for the
 * rest (the lesson's device gets no acks).
 */
import type { NightlightServer } from "./controller/nightlight-server"
import type { CommandEvent, StatusEvent, TelemetryEvent } from "./controller/events"
import type { LinkState } from "./device/reading-link"
import type { Logger } from "./util/logger"
import type { Store } from "./store"
import { realTimers, type Timers } from "./util/clock"

export const RECORDER_DEFAULTS = {
    /** ms between two looks at what waits to be written */
    flushIntervalMs: 100,
    /** Rows; the server waits for each write, so one big write sets the p99 latency. 500 rows is 1 ms. */
    flushRows: 500,
    /** ms; fewer writes cost less CPU per reading. */
    maxFlushDelayMs: 1000,
}

export class Recorder {
    private readonly timers: Timers
    private flushTimer: unknown
    private lastFlushAt = 0
    private running = false
    /** Failures are logged once per run of failures, not once per reading. */
    private failing = false

    constructor(
        private readonly controller: NightlightServer,
        private readonly store: Store,
        private readonly log: Logger,
        timers: Timers = realTimers
    ) {
        this.timers = timers
    }

    start(): void {
        if (this.running) return
        this.running = true
        this.controller.on("telemetry", this.onTelemetry)
        this.controller.on("command", this.onCommand)
        this.controller.on("status", this.onStatus)
        this.lastFlushAt = this.timers.now()
        this.scheduleFlush()
    }

    stop(): void {
        if (!this.running) return
        this.running = false
        this.controller.off("telemetry", this.onTelemetry)
        this.controller.off("command", this.onCommand)
        this.controller.off("status", this.onStatus)
        this.timers.clearTimeout(this.flushTimer)
        this.flush()
    }

    /** With the links, so a restarted server knows them even if the broker lost the retained acks. */
    beforeAcks(links: ReadonlyMap<string, LinkState>): void {
        const now = this.timers.now()
        for (const [deviceId, link] of links) this.store.registry.update(deviceId, now, { link }, { seen: false })
        this.write(() => this.store.commit())
    }

    /** Throws if the database cannot take it: the controller then sends no ack. */
    flush(): void {
        this.write(() => this.store.flush())
    }

    private write(store: () => unknown): void {
        try {
            store()
            if (this.failing) this.log.info("the history store is writable again")
            this.failing = false
        } catch (err) {
            if (!this.failing) this.log.error(`could not write to the history store: ${(err as Error).message}`)
            this.failing = true
            throw err
        }
    }

    /** Listeners run inside the controller's handlers: a throw would cost the reading its command and ack. */
    private guard<E>(what: string, record: (e: E) => void): (e: E) => void {
        return e => {
            try {
                record(e)
            } catch (err) {
                this.log.error({ err }, `could not record ${what}`)
            }
        }
    }

    private readonly onTelemetry = this.guard("a reading", (e: TelemetryEvent) => {
        if (e.duplicate) return
        const now = this.timers.now()
        this.store.history.addReading(e.deviceId, e.at, e.light, e.reportedLed ?? null)
        const known = this.store.registry.peek(e.deviceId)
        // a reading resent after an outage is history, not the device's current light
        const latest = known?.lightAt === null || known?.lightAt === undefined || e.at >= known.lightAt
        this.store.registry.update(e.deviceId, now, {
            light: latest ? e.light : undefined,
            lightAt: latest ? e.at : undefined,
            ledOn: e.ledOn ?? null,
            reportedLed: e.reportedLed,
            local: e.local ?? null,
        })
    })

    private readonly onCommand = this.guard("a command", (e: CommandEvent) => {
        const now = this.timers.now()
        this.store.history.addCommand(e.deviceId, e.at, e.command.led_on, e.reason, e.command.seq ?? 0)
        // sending a command is not hearing from the device: lastSeen stays
        this.store.registry.update(
            e.deviceId,
            now,
            { ledOn: e.command.led_on, lastCommand: { ledOn: e.command.led_on, at: e.at, reason: e.reason } },
            { seen: false }
        )
    })

    private readonly onStatus = this.guard("a status", (e: StatusEvent) => {
        // a retained status comes again with every start of the server: only readings move lastSeen
        this.store.registry.update(e.deviceId, this.timers.now(), { online: e.online }, { seen: false })
    })

    /** A registry part per flushIntervalMs since the last write: each row every 10 s, whatever the pace. */
    private scheduleFlush(): void {
        const { flushIntervalMs, flushRows, maxFlushDelayMs } = RECORDER_DEFAULTS
        this.flushTimer = this.timers.setTimeout(() => {
            if (!this.running) return
            const now = this.timers.now()
            const since = now - this.lastFlushAt
            const due = this.store.waitingRows() >= flushRows || since >= maxFlushDelayMs
            // While the WAL is reset a write would stop the server: the next round writes this one's part too.
            if (due && !this.store.writesWait) {
                this.lastFlushAt = now
                try {
                    this.write(() => this.store.flushSome(Math.round(since / flushIntervalMs)))
                } catch {
                    // logged by write(); the next round tries again
                }
            }
            this.scheduleFlush()
        }, flushIntervalMs)
    }
}
