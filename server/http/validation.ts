/**
 * What the HTTP API accepts, as zod schemas, and how a rejection becomes an ApiProblem that names the
 * field. Pure: no I/O. Every message says the field and what it must be, so a client (or a person with
 * curl) can fix the request from the answer alone.
 */
import { z } from "zod"
import {
    ApiProblem,
    DEVICE_SORTS,
    DEVICE_STATES,
    type DeviceQuery,
    type GroupRulePatch,
    LIVE_VIEWS,
    type LiveView,
    MAX_WATCHED_DEVICES,
    type WatchRequest,
    type RuleSettingsPatch,
    type DeviceConfigPatch,
    type DeviceConfigOverridePatch,
    type SimLightRequest,
} from "./api-types"
import { FLEET } from "./fleet"
import { GROUP_NAME_RULE, isValidGroupName } from "../groups/config"
import { STALE_AFTER_MS } from "../groups/schema"
import {
    DEVICE_CONFIG_RANGES,
    DEVICE_ID_RULE,
    LIGHT_MAX,
    MAX_DEVICE_ID_LENGTH,
    isValidDeviceId,
} from "../protocol/contract"

/** Bounds of what the API accepts; the backend may check more (e.g. `dark` against the member count). */
export const LIMITS = {
    /** Latest time accepted in a query: the largest Date (ms). */
    timeMax: 8_640_000_000_000_000,
    pointsMin: 10,
    pointsMax: 10_000,
    /** ms: one second to one day. */
    staleAfterMin: STALE_AFTER_MS.min,
    staleAfterMax: STALE_AFTER_MS.max,
    /** Voter counts; far above any fleet this server is meant for. */
    votersMax: 100_000,
    /** Paging offsets; far above any fleet. */
    offsetMax: 10_000_000,
}

/** An integer in [min, max]; one message for every way to miss (type, fraction, range). */
function integer(name: string, min: number, max: number) {
    const error = `${name} must be an integer from ${min} to ${max}`
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error })
}

/** A query parameter holding a non-negative integer in [min, max]: digits only, no signs or exponents. */
function queryInteger(name: string, min: number, max: number) {
    const error = `${name} must be an integer from ${min} to ${max}`
    return z
        .string({ error })
        .regex(/^\d{1,16}$/, { error })
        .transform(Number)
        .pipe(integer(name, min, max))
}

export const settingsPatchSchema: z.ZodType<RuleSettingsPatch> = z.strictObject({
    threshold: integer("threshold", 1, LIGHT_MAX).optional(),
    band: integer("band", 0, LIGHT_MAX).optional(),
})

/** The ranges the firmware checks: a config it would refuse is refused here. */
const configValue = (name: "reportMs" | "minChange" | "localAfterMs") =>
    integer(name, DEVICE_CONFIG_RANGES[name][0], DEVICE_CONFIG_RANGES[name][1]).optional()

export const deviceConfigPatchSchema: z.ZodType<DeviceConfigPatch> = z.strictObject({
    reportMs: configValue("reportMs"),
    minChange: configValue("minChange"),
    localAfterMs: configValue("localAfterMs"),
})

/** A group's or device's own values: each in the fleet config's range; null clears one. */
const overrideValue = (name: keyof typeof DEVICE_CONFIG_RANGES) =>
    integer(name, DEVICE_CONFIG_RANGES[name][0], DEVICE_CONFIG_RANGES[name][1]).nullable().optional()

export const deviceConfigOverrideSchema: z.ZodType<DeviceConfigOverridePatch> = z.strictObject({
    threshold: overrideValue("threshold"),
    band: overrideValue("band"),
    reportMs: overrideValue("reportMs"),
    minChange: overrideValue("minChange"),
    localAfterMs: overrideValue("localAfterMs"),
})

export const groupRulePatchSchema: z.ZodType<GroupRulePatch> = z.strictObject({
    kind: z.enum(["majority", "at-least"], { error: 'kind must be "majority" or "at-least"' }).optional(),
    dark: integer("dark", 1, LIMITS.votersMax).optional(),
    staleAfterMs: integer("staleAfterMs", LIMITS.staleAfterMin, LIMITS.staleAfterMax).optional(),
    minVoters: integer("minVoters", 1, LIMITS.votersMax).optional(),
})

export const simLightSchema: z.ZodType<SimLightRequest> = z.strictObject({
    light: z.union([integer("light", 0, LIGHT_MAX), z.literal("daylight")], {
        error: `light must be an integer from 0 to ${LIGHT_MAX}, or "daylight" for the day/night cycle`,
    }),
})

export const historyQuerySchema = z.strictObject({
    from: queryInteger("from", 0, LIMITS.timeMax).optional(),
    to: queryInteger("to", 0, LIMITS.timeMax).optional(),
    points: queryInteger("points", LIMITS.pointsMin, LIMITS.pointsMax).optional(),
})

/** `GET /api/devices?...`: paging (FLEET's limits), sorting, and the filters by state and id. */
export const deviceQuerySchema: z.ZodType<DeviceQuery> = z.strictObject({
    offset: queryInteger("offset", 0, LIMITS.offsetMax).default(0),
    limit: queryInteger("limit", 1, FLEET.limitMax).default(FLEET.limitDefault),
    sort: z.enum(DEVICE_SORTS, { error: `sort must be one of ${DEVICE_SORTS.join(", ")}` }).default("id"),
    order: z.enum(["asc", "desc"], { error: 'order must be "asc" or "desc"' }).default("asc"),
    state: z.enum(DEVICE_STATES, { error: `state must be one of ${DEVICE_STATES.join(", ")}` }).optional(),
    q: z
        .string()
        .max(MAX_DEVICE_ID_LENGTH, { error: `q must be at most ${MAX_DEVICE_ID_LENGTH} characters` })
        .optional(),
})

export const liveQuerySchema: z.ZodType<{ view: LiveView }> = z.strictObject({
    view: z.enum(LIVE_VIEWS, { error: `view must be one of ${LIVE_VIEWS.join(", ")}` }).default("all"),
})

export const watchRequestSchema: z.ZodType<WatchRequest> = z.strictObject({
    devices: z
        .array(
            z.string({ error: `each device must be an id: ${DEVICE_ID_RULE}` }).refine(isValidDeviceId, {
                error: `each device must be an id: ${DEVICE_ID_RULE}`,
            }),
            { error: "devices must be an array of device ids" }
        )
        .max(MAX_WATCHED_DEVICES, { error: `devices must hold at most ${MAX_WATCHED_DEVICES} ids` }),
})

/** For routes that take no query parameters: any parameter is a mistake worth hearing about. */
export const noQuerySchema = z.strictObject({})

/** Parses a JSON body (already JSON.parse'd) against a strict object schema. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
    return parseWith(schema, body, "field", "the body")
}

/** Parses the query string against a strict object schema; a parameter given twice is rejected. */
export function parseQuery<T>(schema: z.ZodType<T>, query: URLSearchParams): T {
    const values: Record<string, string> = {}
    for (const [key, value] of query) {
        if (Object.hasOwn(values, key)) throw new ApiProblem(400, `query parameter "${key}" is given twice`, key)
        values[key] = value
    }
    return parseWith(schema, values, "query parameter", "the query")
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, unknownWhat: string, whole: string): T {
    const result = schema.safeParse(input)
    if (result.success) return result.data
    const issue = result.error.issues[0]
    if (issue.code === "unrecognized_keys") {
        const key = issue.keys[0]
        throw new ApiProblem(400, `unknown ${unknownWhat} "${key}"`, key)
    }
    if (issue.path.length > 0) throw new ApiProblem(400, issue.message, issue.path.join("."))
    throw new ApiProblem(400, `${whole} must be a JSON object`)
}

/** A device id from the path (already percent-decoded). */
export function checkDeviceId(id: string): string {
    if (!isValidDeviceId(id)) throw new ApiProblem(400, `id must be ${DEVICE_ID_RULE}`, "id")
    return id
}

/** A group name from the path, by the groups file's rule. The backend says whether it exists. */
export function checkGroupName(name: string): string {
    if (!isValidGroupName(name)) throw new ApiProblem(400, `name must be ${GROUP_NAME_RULE}`, "name")
    return name
}

/**
 * The history range: by default the last hour before `now`. `from` alone runs to now (an empty range
 * when from is later, e.g. a client clock a little ahead); `to` alone starts an hour before it.
 */
export function historyRange(
    query: z.infer<typeof historyQuerySchema>,
    now: number
): { from: number; to: number; points: number } {
    const hour = 3_600_000
    const to = query.to ?? (query.from === undefined ? now : Math.max(query.from, now))
    const from = query.from ?? Math.max(0, to - hour)
    if (from > to) throw new ApiProblem(400, `from (${from}) must not be after to (${to})`, "from")
    return { from, to, points: query.points ?? 1000 }
}
