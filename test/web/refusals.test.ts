/**
 * The "Refused and limited" panel's rows (web/refusals.ts): refusals only, so its total
 * ("N in all since the start") counts what was turned away, not configs sent or the config's version.
 */
import { expect, test } from "vitest"
import type { StatsResponse } from "../../server/http/api-types"
import { refusals } from "../../web/refusals"

test("the configs sent and the config version are no refusals; a new counter shows by its name", () => {
    const stats: StatsResponse = {
        server: {
            received: 10,
            devicesRefused: 1,
            configsSent: 4,
            configsFailed: 2,
            configVersion: 1_796_498_682,
            someNewCounter: 3,
        },
        rejected: { not_json: 2 },
        broker: null,
        http: { liveStreams: 1, liveStreamsRefused: 0 },
    }
    expect(refusals(stats)).toEqual([
        ["new devices ignored: registry full", 1],
        ["some new counter", 3],
        ["live streams refused", 0],
        ["readings rejected: not_json", 2],
    ])
})
