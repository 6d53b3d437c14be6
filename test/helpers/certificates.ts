/**
 * Test certificates made with the openssl CLI, by the commands docs/security.md gives a user ("A CA and
 * a certificate for your network"): a CA, and server certificates it signs. Keys are P-256, valid 2 days.
 */
import { execFile } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

/** Writes `<dir>/<name>.key` and a self-signed `<dir>/<name>.crt`. */
export async function makeCa(dir: string, name: string): Promise<void> {
    const path = (file: string) => join(dir, file)
    await run("openssl", [
        ...["req", "-x509", ...EC, "-keyout", path(`${name}.key`), "-out", path(`${name}.crt`)],
        ...["-days", "2", "-subj", `/CN=${name}`],
    ])
}

/** Writes `<dir>/<name>.key` and `<dir>/<name>.crt` signed by CA `ca`, for `altNames` (e.g. "IP:127.0.0.1"). */
export async function makeServerCert(dir: string, ca: string, name: string, altNames: string): Promise<void> {
    const path = (file: string) => join(dir, file)
    await run("openssl", [
        ...["req", ...EC, "-keyout", path(`${name}.key`), "-out", path(`${name}.csr`)],
        ...["-subj", "/CN=nightlight broker"],
    ])
    writeFileSync(path(`${name}.ext`), `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth\n`)
    await run("openssl", [
        ...["x509", "-req", "-in", path(`${name}.csr`), "-CA", path(`${ca}.crt`), "-CAkey", path(`${ca}.key`)],
        ...["-CAcreateserial", "-out", path(`${name}.crt`), "-days", "2", "-extfile", path(`${name}.ext`)],
    ])
}
