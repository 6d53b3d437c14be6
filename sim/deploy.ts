/**
 * Deploys the firmware bytecode and its settings to a DeviceScript VM on the bus — what `devs devtools`
 * does for a board. It is the simulator's only path for settings: `devs run` pushes none
 * (docs/devicescript.md §2).
 */
import { jd, type JDBus, type JDDevice } from "./jacdac"

/** Waits until the device with this Jacdac id announces a DeviceScript manager on the bus. */
export function waitForVm(bus: JDBus, deviceId: string, timeoutMs: number): Promise<JDDevice> {
    const wanted = deviceId.toLowerCase()
    const find = () =>
        bus
            .devices({ serviceClass: jd.SRV_DEVICE_SCRIPT_MANAGER })
            .find(d => d.deviceId.toLowerCase() === wanted && d.services({ serviceClass: jd.SRV_SETTINGS }).length)
    return new Promise((resolve, reject) => {
        const found = find()
        if (found) return resolve(found)
        const timer = setTimeout(() => {
            clearInterval(poll)
            reject(new Error(`the DeviceScript VM ${deviceId} did not appear on the bus in ${timeoutMs} ms`))
        }, timeoutMs)
        // devices announce every 500 ms; polling the bus's device list is simpler than its event soup
        const poll = setInterval(() => {
            const device = find()
            if (!device) return
            clearInterval(poll)
            clearTimeout(timer)
            resolve(device)
        }, 50)
    })
}

/** Settings as `readSetting` reads them: each value JSON-encoded (see @devicescript/settings). */
export type DeviceSettings = Record<string, string | number | boolean>

export async function deployToVm(device: JDDevice, bytecode: Uint8Array, settings: DeviceSettings): Promise<void> {
    const [manager] = device.services({ serviceClass: jd.SRV_DEVICE_SCRIPT_MANAGER })
    const [settingsService] = device.services({ serviceClass: jd.SRV_SETTINGS })
    const running = manager.register(jd.DeviceScriptManagerReg.Running)
    await running.sendSetBoolAsync(false)
    // settings go first: the VM starts the program as soon as the bytecode lands, and the program
    // reads its settings at once
    const client = new jd.SettingsClient(settingsService)
    // clear first: a key from an earlier run must not linger (the VM may keep settings in its flash)
    await client.clear()
    for (const [key, value] of Object.entries(settings)) {
        if (key.length > 13) throw new Error(`setting name ${key} is longer than 13 characters`)
        await client.setValue(key, new TextEncoder().encode(JSON.stringify(value)))
    }
    await jd.OutPipe.sendBytes(manager, jd.DeviceScriptManagerCmd.DeployBytecode, bytecode)
    await running.sendSetBoolAsync(true)
}

/**
 * Restarts the program as a reset would: stopped, then started from the top (a new boot id, nothing in
 * memory), with the VM's settings as they are, those the program wrote itself included.
 */
export async function restartProgram(device: JDDevice): Promise<void> {
    const [manager] = device.services({ serviceClass: jd.SRV_DEVICE_SCRIPT_MANAGER })
    const running = manager.register(jd.DeviceScriptManagerReg.Running)
    await running.sendSetBoolAsync(false)
    await running.sendSetBoolAsync(true)
}
