// Loaded into a server child process (`node --expose-gc --import <this file>`) by tests that measure its
// memory: on SIGUSR2 it runs a full garbage collection, then prints one line with process.memoryUsage(),
// so what a test compares is memory still held, not garbage V8 has not collected yet.
process.on("SIGUSR2", () => {
    globalThis.gc?.()
    process.stderr.write(`MEMORY ${JSON.stringify(process.memoryUsage())}\n`)
})
