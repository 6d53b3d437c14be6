/**
 * Files that hold secrets (the credentials file, the dashboard's token): readable by their owner only
 * (0600), and written whole or not at all, so a crash mid-write never leaves half a file.
 */
import { randomBytes } from "node:crypto"
import { chmod, open, rename, unlink } from "node:fs/promises"
import { basename, dirname, join } from "node:path"

export async function writeSecretFile(file: string, text: string): Promise<void> {
    const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`)
    try {
        const handle = await open(temp, "wx", 0o600)
        try {
            await handle.writeFile(text, "utf8")
            await handle.sync()
        } finally {
            await handle.close()
        }
        await chmod(temp, 0o600) // the umask may have taken bits away, never added; this is for clarity
        await rename(temp, file)
    } catch (error) {
        await unlink(temp).catch(() => undefined)
        throw error
    }
}
