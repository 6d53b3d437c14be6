/**
 * `npm start`: the nightlight server, its embedded broker (unless --mqtt-url) and one simulated device
 * (unless --no-sim). Ctrl-C stops everything cleanly; a second Ctrl-C, a moment later, exits at once.
 */
import { constants } from "node:os"
import { join } from "node:path"
import { DATABASE_FILE, startServer, type RunningServer } from "./app"
import { CredentialsError } from "./auth/credentials"
import { BrokerStartError } from "./mqtt/embedded-broker"
import { GroupsConfigError } from "./groups/config"
import { HttpStartError } from "./http/http-server"
import { createLogger, type Logger } from "./util/logger"
import { HELP_TEXT, SettingsError, parseSettings, redactUrl, type Settings } from "./config/settings"
import { SimulatorRunner } from "./sim-runner"
import { startupLines } from "./startup-lines"
import { StoreError } from "./store"

/** ms a clean shutdown may take before we give up and exit anyway. */
const SHUTDOWN_LIMIT_MS = 10_000
/** ms to let the event loop drain after shutdown; a handle still open past this is a bug we report. */
const DRAIN_LIMIT_MS = 2_000
/** ms within which a second stop signal is the same Ctrl+C, passed on by a launcher (npm, tsx). */
const SAME_SIGNAL_MS = 500

async function main(): Promise<void> {
    let settings: Settings
    try {
        settings = parseSettings(process.argv.slice(2), process.env)
    } catch (error) {
        if (!(error instanceof SettingsError)) throw error
        process.stderr.write(`nightlight: ${error.message} (run with --help for usage)\n`)
        process.exitCode = 2
        return
    }
    if (settings.help) {
        process.stdout.write(`${HELP_TEXT}\n`)
        return
    }

    const logger = createLogger({ level: settings.logLevel })
    let server: RunningServer
    try {
        server = await startServer(settings, logger)
    } catch (error) {
        // Problems the user can fix get one clear line, not a stack trace.
        const known = [BrokerStartError, GroupsConfigError, StoreError, HttpStartError, CredentialsError]
        if (known.some(kind => error instanceof kind)) logger.fatal((error as Error).message)
        else logger.fatal({ err: error }, "the server could not start")
        process.exitCode = error instanceof GroupsConfigError ? 2 : 1
        return
    }
    for (const line of startupLines(server, settings, redactUrl(server.brokerUrl))) logger.info(line)
    logger.info(`Registry and history: ${join(settings.dataDir, DATABASE_FILE)} (kept ${settings.retentionDays} days)`)

    const sim = settings.sim.enabled
        ? new SimulatorRunner({
              brokerUrl: await server.deviceUrl(settings.sim.deviceId),
              deviceId: settings.sim.deviceId,
              logger,
              threshold: settings.threshold,
              band: settings.band,
          })
        : undefined
    if (sim) server.attachSimulator(sim)
    handleSignals(logger, async () => {
        await sim?.stop()
        await server.stop()
    })
    // Not awaited: the simulator takes seconds to boot, and Ctrl-C must work meanwhile.
    void sim?.start()
}

function handleSignals(logger: Logger, shutdown: () => Promise<void>): void {
    let stoppingSince: number | undefined
    const onSignal = (signal: NodeJS.Signals) => {
        if (stoppingSince !== undefined) {
            const after = Math.round(performance.now() - stoppingSince)
            if (after < SAME_SIGNAL_MS) {
                logger.debug(`${signal} again after ${after} ms: the same stop (passed on by a launcher)`)
                return
            }
            logger.warn(`${signal} again: exiting without finishing the shutdown`)
            process.exit(128 + (constants.signals[signal] ?? 1))
        }
        stoppingSince = performance.now()
        logger.info(`${signal} received: shutting down (send it again to exit at once)`)
        const limit = setTimeout(() => {
            logger.error(`the shutdown took longer than ${SHUTDOWN_LIMIT_MS / 1000} s; exiting anyway`)
            process.exit(1)
        }, SHUTDOWN_LIMIT_MS)
        shutdown().then(
            () => {
                clearTimeout(limit)
                logger.info("stopped")
                process.exitCode = 0
                // All our handles are closed, so the process exits by itself now. If a dependency left
                // one open, say so rather than hang the terminal.
                setTimeout(() => {
                    logger.warn("something kept the process alive after the shutdown; exiting")
                    process.exit(0)
                }, DRAIN_LIMIT_MS).unref()
            },
            (err: unknown) => {
                clearTimeout(limit)
                logger.error({ err }, "the shutdown failed")
                process.exit(1)
            }
        )
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
}

await main()
