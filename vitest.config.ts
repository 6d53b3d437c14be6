import { defineConfig } from "vitest/config"

// Tests that start the DeviceScript simulator share the devtools' fixed ports (8081/8082), so they are
// grouped in the "sim" project and run one file at a time; everything else runs in parallel.
export default defineConfig({
    test: {
        projects: [
            {
                test: {
                    name: "node",
                    include: ["test/**/*.test.ts"],
                    exclude: ["test/sim/**"],
                    testTimeout: 20_000,
                    hookTimeout: 30_000,
                },
            },
            {
                test: {
                    name: "sim",
                    include: ["test/sim/**/*.test.ts"],
                    fileParallelism: false,
                    testTimeout: 60_000,
                    hookTimeout: 90_000,
                },
            },
        ],
    },
})
