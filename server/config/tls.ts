/** TLS files checked before anything listens, with errors naming the file (docs/security.md "TLS"). */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto"
import { readFile } from "node:fs/promises"
import { describeFsError } from "../auth/credentials"

export interface TlsFiles {
    /** PEM: the server's certificate, optionally followed by the intermediate certificates. */
    cert: string
    /** PEM: its private key, not encrypted. */
    key: string
    /** PEM: CA certificates to send along with the chain (optional). */
    ca?: string
}

export interface CertificateInfo {
    subject: string
    /** DNS names and IP addresses the certificate is valid for (subjectAltName). */
    names: string[]
    validTo: Date
    expired: boolean
    selfSigned: boolean
}

export interface LoadedTls {
    cert: Buffer
    key: Buffer
    ca?: Buffer
    info: CertificateInfo
}

export class TlsFileError extends Error {
    override name = "TlsFileError"
}

async function readPem(file: string, what: string): Promise<Buffer> {
    try {
        return await readFile(file)
    } catch (error) {
        throw new TlsFileError(`cannot read the TLS ${what} file ${file}: ${describeFsError(error)}`)
    }
}

function firstCertificate(pem: Buffer, file: string, what: string): X509Certificate {
    const text = pem.toString("utf8")
    const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)
    if (!match)
        throw new TlsFileError(`the TLS ${what} file ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
    try {
        return new X509Certificate(match[0])
    } catch (error) {
        throw new TlsFileError(`the TLS ${what} file ${file} holds a broken certificate: ${(error as Error).message}`)
    }
}

/** Reads and checks the files: each is PEM, the key is not encrypted and belongs to the certificate. */
export async function loadTlsFiles(files: TlsFiles, now = new Date()): Promise<LoadedTls> {
    const cert = await readPem(files.cert, "certificate")
    const key = await readPem(files.key, "key")
    const ca = files.ca === undefined ? undefined : await readPem(files.ca, "CA")
    const x509 = firstCertificate(cert, files.cert, "certificate")
    if (ca) firstCertificate(ca, files.ca!, "CA")
    let privateKey: KeyObject
    const keyText = key.toString("utf8")
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyText))
        throw new TlsFileError(
            `the TLS key file ${files.key} is encrypted with a passphrase; the server cannot ask for one. ` +
                `Decrypt it: openssl pkey -in ${files.key} -out server-plain.key`
        )
    try {
        privateKey = createPrivateKey(key)
    } catch (error) {
        throw new TlsFileError(`the TLS key file ${files.key} holds no usable private key: ${(error as Error).message}`)
    }
    if (!x509.checkPrivateKey(privateKey))
        throw new TlsFileError(`the TLS key in ${files.key} does not belong to the certificate in ${files.cert}`)
    return { cert, key, ca, info: describeCertificate(x509, now) }
}

export function describeCertificate(x509: X509Certificate, now = new Date()): CertificateInfo {
    const names = (x509.subjectAltName ?? "")
        .split(",")
        .map(entry => entry.trim())
        .filter(entry => entry.startsWith("DNS:") || entry.startsWith("IP Address:"))
        .map(entry => entry.replace(/^DNS:|^IP Address:/, ""))
    const validTo = new Date(x509.validTo)
    return {
        subject: x509.subject.replace(/\n/g, ", "),
        names,
        validTo,
        expired: validTo.getTime() < now.getTime(),
        selfSigned: x509.issuer === x509.subject && x509.verify(x509.publicKey),
    }
}
