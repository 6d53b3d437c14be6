/** DeviceRule (server/controller/device-rule.ts): a device's rule follows its effective config live. */
import { expect, test } from "vitest"
import { DeviceConfigs } from "../../../server/controller/device-config"
import { DeviceRule } from "../../../server/controller/device-rule"
import type { MessageBus } from "../../../server/mqtt/message-bus"
import { DEFAULT_DEVICE_CONFIG } from "../../../server/protocol/contract"
import { realTimers } from "../../../server/util/clock"
import { recordingLogger } from "../../helpers/mqtt"

const bus: MessageBus = {
    start: async () => {},
    stop: async () => {},
    subscribe: async () => {},
    publish: async () => {},
}

test("a rule made before a change reads the device's new threshold and band, and keeps its resend time", () => {
    const configs = new DeviceConfigs({
        bus,
        log: recordingLogger("info").logger,
        timers: realTimers,
        values: DEFAULT_DEVICE_CONFIG,
        counters: { configsSent: 0, configsFailed: 0 },
    })
    const porch = new DeviceRule(configs, "porch", 7000)
    const hall = new DeviceRule(configs, "hall", undefined)
    expect([porch.threshold, porch.band]).toEqual([DEFAULT_DEVICE_CONFIG.threshold, DEFAULT_DEVICE_CONFIG.band])

    configs.setDeviceOverride("porch", { threshold: 450, band: 30 })

    expect([porch.threshold, porch.band, porch.mismatchResendMs]).toEqual([450, 30, 7000])
    expect([hall.threshold, hall.band, hall.mismatchResendMs]).toEqual([
        DEFAULT_DEVICE_CONFIG.threshold,
        DEFAULT_DEVICE_CONFIG.band,
        undefined,
    ])
})
