/**
 * jacdac-ts, loaded through its CommonJS build: its Node TCP transport calls `require("net")`,
 * which the ES module build cannot do (docs/devicescript.md §3). Its package exports name no types, so the
 * types are taken from the declaration files it ships.
 */
import { createRequire } from "node:module"

import type * as JacdacModule from "../node_modules/jacdac-ts/dist/types/src/jacdac"
export type { JDBus, JDDevice, JDService } from "../node_modules/jacdac-ts/dist/types/src/jacdac"

const require = createRequire(import.meta.url)
export const jd = require("jacdac-ts") as typeof JacdacModule
