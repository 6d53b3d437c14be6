import { defineConfig } from "vitest/config"

// The bench package's own tests (bench/test/), apart from the product's `npm test`.
export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        testTimeout: 20_000,
        hookTimeout: 30_000,
    },
})
