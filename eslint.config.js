// ESLint 9 flat config, type-aware (typescript-eslint's project service: each file is checked with the
// tsconfig.json nearest to it: the root one, web/'s or src/'s). `npm run lint`; `-- --fix` fixes the
// import rules. DEVELOPMENT.md "Checks" says why each rule is here.
import js from "@eslint/js"
import { defineConfig, globalIgnores } from "eslint/config"
import { createNodeResolver, importX } from "eslint-plugin-import-x"
import tseslint from "typescript-eslint"

export default defineConfig(
    globalIgnores([
        "node_modules/",
        "built/",
        "dist/", // the bundles scripts/build-server.mjs and the bench write
        ".devicescript/",
        "coverage/",
        "test-results/",
        // Firmware-test fixtures run by `devs` (test/sim/firmware-unit.test.ts); in no tsconfig on purpose.
        "test/fixtures/",
    ]),
    {
        files: ["**/*.ts"],
        extends: [js.configs.recommended, tseslint.configs.recommended],
        languageOptions: {
            parserOptions: {
                projectService: true,
                tsconfigRootDir: import.meta.dirname,
            },
        },
        plugins: { "import-x": importX },
        settings: {
            // Which files import-x reads and with which parser: without these it skips .ts files, and
            // no-cycle finds nothing.
            "import-x/extensions": [".ts", ".js"],
            "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
            // Our imports have no extension ("./events"): resolve them to the .ts file.
            "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json"] })],
        },
        rules: {
            // An async call whose promise nobody awaits loses its error (an unhandled rejection ends the
            // process): `.catch` it with a log, or `void` it with a comment saying why that is safe.
            "@typescript-eslint/no-floating-promises": "error",
            // An async function where a void callback is expected (setInterval, an emitter's handler, a
            // test's hook) has its rejection dropped by the caller.
            "@typescript-eslint/no-misused-promises": "error",
            // `import type` where only types are used: erased by esbuild/tsx, no runtime import or cycle.
            "@typescript-eslint/consistent-type-imports": [
                "error",
                { prefer: "type-imports", fixStyle: "inline-type-imports" },
            ],
            "@typescript-eslint/no-import-type-side-effects": "error",
            // Modules that import each other run in an order that depends on who is imported first.
            // Type-only imports are erased, so they do not count.
            "import-x/no-cycle": ["error", { ignoreExternal: true }],
            // Types already check these; the JS versions misreport TypeScript overloads and globals.
            "no-undef": "off",
            // We match control characters on purpose: to refuse them (paths, passwords, topics) or to
            // print them safely (logs).
            "no-control-regex": "off",
            // A `let` assigned once after a closure that reads it (server/app.ts's recorder) stays a `let`.
            "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
            "no-redeclare": "off",
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
            ],
        },
    },
    {
        // The firmware (DeviceScript, checked with src/tsconfig.json). Its compiler takes `import type`
        // (devs build passes). `self = this` before a timer's callback and `any` for parsed JSON are
        // kept as the firmware has them: how the VM treats the alternatives is not tested here.
        files: ["src/**/*.ts"],
        rules: {
            "@typescript-eslint/no-this-alias": "off",
            "@typescript-eslint/no-explicit-any": "off",
        },
    },
    {
        files: ["**/*.js", "**/*.mjs"],
        extends: [js.configs.recommended],
        languageOptions: { globals: { process: "readonly", console: "readonly" } },
    }
)
