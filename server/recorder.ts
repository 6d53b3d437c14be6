/**
 * Writes what the controller sees into the store: readings and commands into the history, each device's
 * latest state into the registry. The controller's `beforeAck` hook stores readings before an ack
 * promises so (Store.commit); a timer stores the rest (the lesson's device gets no acks) within
 * RECORDER_DEFAULTS.maxFlushDelayMs, with a part of the registry (Store.flushSome). stop() writes all.
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
    /**
     * A write as soon as this many readings and commands wait. The server waits for each write, so one
     * big write a second sets the p99 reading → command latency; about 500 rows is 1 ms.
     */
    flushRows: 500,
    /**
     * ...and at least this often while anything waits (ms). Fewer writes cost less CPU per reading.
     */
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

    /** Stops listening and writes what is left. */
    stop(): void {
        if (!this.running) return
        this.running = false
        this.controller.off("telemetry", this.onTelemetry)
        this.controller.off("command", this.onCommand)
        this.controller.off("status", this.onStatus)
        this.timers.clearTimeout(this.flushTimer)
        this.flush()
    }

    /**
     * The controller's beforeAcks: stores the readings the acks promise, with where each device's link
     * stands, so a restarted server knows them even when the broker lost the retained acks. Through
     * Store.commit(), which appends them: the rest of the registry waits for the next flush.
     */
    beforeAcks(links: ReadonlyMap<string, LinkState>): void {
        const now = this.timers.now()
        for (const [deviceId, link] of links) this.store.registry.update(deviceId, now, { link }, { seen: false })
        this.write(() => this.store.commit())
    }

    /** Writes everything buffered; throws if the database cannot take it (the controller then sends no ack). */
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

    /**
     * The controller's listeners run inside its handlers: an exception here would cost the reading its
     * command and ack, and the LED its switch. None is expected (the values are validated); one that
     * happens anyway is logged as the bug it is.
     */
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

    /**
     * Every flushIntervalMs: a write once RECORDER_DEFAULTS.flushRows wait or maxFlushDelayMs passed. Each
     * write takes the device rows of one registry part per flushIntervalMs since the last (Store.flushSome),
     * so each device's row is written every registryParts × flushIntervalMs (10 s), whatever the pace.
     */
    private scheduleFlush(): void {
        const { flushIntervalMs, flushRows, maxFlushDelayMs } = RECORDER_DEFAULTS
        this.flushTimer = this.timers.setTimeout(() => {
            if (!this.running) return
            const now = this.timers.now()
            const since = now - this.lastFlushAt
            if (this.store.waitingRows() >= flushRows || since >= maxFlushDelayMs) {
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
