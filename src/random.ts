/**
 * Randomness from the crypto RNG (hardware entropy on a board, WebCrypto in the simulator).
 * Math.random() in the DeviceScript VM starts from the same seed on every start: boot ids would repeat
 * after a reboot (and the server would take new readings for duplicates), and every device of a fleet
 * would draw the same backoff jitter, reconnecting in lockstep.
 */
import { randomBuffer } from "@devicescript/crypto"

/** A number in [0, 1). */
export function random01(): number {
    const b = randomBuffer(2)
    return ((b[0] << 8) | b[1]) / 65536
}

/** A random id for this start of the device: 8 hex digits. */
export function newBootId(): string {
    return randomBuffer(4).toString("hex")
}
