/**
 * Why a connection to the broker failed, without the address the log line already names: the
 * DeviceScript socket prefixes "socket <url>: ", the simulator's socket "<url>: ", and Node ends with
 * " <host>:<port>". Pure.
 */
export function connectFailure(url: string, hostPort: string, message: string): string {
    let text = message
    const prefixes = ["socket " + url + ": ", url + ": "]
    for (let i = 0; i < prefixes.length; i++) if (text.startsWith(prefixes[i])) text = text.slice(prefixes[i].length)
    const suffix = " " + hostPort
    if (text.endsWith(suffix)) text = text.slice(0, text.length - suffix.length)
    return text
}
