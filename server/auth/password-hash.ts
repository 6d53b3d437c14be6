/**
 * scrypt, written as `scrypt:N:r:p:<salt>:<key>` so the cost can be raised without breaking stored
 * hashes. Always the async crypto.scrypt, on libuv's pool, so a login never blocks the readings.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto"

export const HASH_DEFAULTS = {
    /** CPU/memory cost (a power of two). 2^15 with r = 8 takes 128 * N * r = 32 MiB and ~60 ms per check. */
    N: 2 ** 15,
    r: 8,
    p: 1,
    /** bytes */
    saltBytes: 16,
    /** bytes */
    keyBytes: 32,
}

export type HashParams = Pick<typeof HASH_DEFAULTS, "N" | "r" | "p">

/** What a stored hash may ask for: enough to refuse a file that would make each login take seconds or gigabytes. */
const LIMITS = { minN: 2 ** 10, maxN: 2 ** 20, maxR: 32, maxP: 16, minSalt: 8, minKey: 16, maxKey: 64 }

export interface ParsedHash {
    N: number
    r: number
    p: number
    salt: Buffer
    key: Buffer
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

export function parseHash(encoded: string): { ok: true; hash: ParsedHash } | { ok: false; reason: string } {
    const parts = encoded.split(":")
    if (parts.length !== 6 || parts[0] !== "scrypt")
        return { ok: false, reason: 'expected "scrypt:N:r:p:<salt>:<key>" (made by npm run users)' }
    const [N, r, p] = parts.slice(1, 4).map(Number)
    if (!Number.isSafeInteger(N) || N < LIMITS.minN || N > LIMITS.maxN || (N & (N - 1)) !== 0)
        return { ok: false, reason: `N must be a power of two from ${LIMITS.minN} to ${LIMITS.maxN}` }
    if (!Number.isSafeInteger(r) || r < 1 || r > LIMITS.maxR)
        return { ok: false, reason: `r must be 1..${LIMITS.maxR}` }
    if (!Number.isSafeInteger(p) || p < 1 || p > LIMITS.maxP)
        return { ok: false, reason: `p must be 1..${LIMITS.maxP}` }
    if (!BASE64.test(parts[4]) || !BASE64.test(parts[5])) return { ok: false, reason: "salt and key must be base64" }
    const salt = Buffer.from(parts[4], "base64")
    const key = Buffer.from(parts[5], "base64")
    if (salt.length < LIMITS.minSalt) return { ok: false, reason: `the salt must be at least ${LIMITS.minSalt} bytes` }
    if (key.length < LIMITS.minKey || key.length > LIMITS.maxKey)
        return { ok: false, reason: `the key must be ${LIMITS.minKey}-${LIMITS.maxKey} bytes` }
    return { ok: true, hash: { N, r, p, salt, key } }
}

function derive(password: string | Buffer, salt: Buffer, length: number, params: HashParams): Promise<Buffer> {
    // Node refuses when 128 * N * r exceeds maxmem (32 MiB by default, exactly our default's need).
    const maxmem = 256 * params.N * params.r + 1024 * 1024
    return new Promise((resolve, reject) =>
        scrypt(password, salt, length, { ...params, maxmem }, (err, key) => (err ? reject(err) : resolve(key)))
    )
}

export async function hashPassword(password: string, params: HashParams = HASH_DEFAULTS): Promise<string> {
    const salt = randomBytes(HASH_DEFAULTS.saltBytes)
    const key = await derive(password, salt, HASH_DEFAULTS.keyBytes, params)
    return ["scrypt", params.N, params.r, params.p, salt.toString("base64"), key.toString("base64")].join(":")
}

/** False also for a hash we cannot read. Constant-time compare. */
export async function verifyPassword(password: string | Buffer, encoded: string): Promise<boolean> {
    const parsed = parseHash(encoded)
    if (!parsed.ok) return false
    const { N, r, p, salt, key } = parsed.hash
    const candidate = await derive(password, salt, key.length, { N, r, p })
    return timingSafeEqual(candidate, key)
}

/** A random password for a device: 24 random bytes, 32 characters of base64url (no quoting needed in .env files). */
export function generatePassword(): string {
    return randomBytes(24).toString("base64url")
}
