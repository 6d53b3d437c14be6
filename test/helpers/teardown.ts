/** Runs every clean-up step even when one fails, then throws one error naming each step that failed. */
export async function runSteps(steps: [what: string, step: () => unknown][]): Promise<void> {
    const failed: string[] = []
    for (const [what, step] of steps) {
        try {
            await step()
        } catch (error) {
            failed.push(`could not ${what}: ${(error as Error).message}`)
        }
    }
    if (failed.length > 0) throw new Error(failed.join("\n"))
}
