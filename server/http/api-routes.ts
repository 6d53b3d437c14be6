/**
 * The JSON routes of the HTTP API (server/http/api-types.ts has the contract), one small handler each:
 * validate path, query and body, ask the backend, answer. Handlers throw ApiProblem for anything the
 * client should hear about; HttpServer turns it into the answer. fastify matches the route (http-server.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { ApiProblem, type ApiBackend, type HomeAssistantView, type StatsResponse } from "./api-types"
import {
    checkDeviceId,
    checkGroupName,
    deviceConfigOverrideSchema,
    deviceConfigPatchSchema,
    deviceQuerySchema,
    groupRulePatchSchema,
    historyQuerySchema,
    historyRange,
    noQuerySchema,
    parseBody,
    parseQuery,
    settingsPatchSchema,
    simLightSchema,
} from "./validation"

export type Method = "GET" | "PATCH" | "PUT" | "DELETE"

export interface Route<H> {
    method: Method
    /** e.g. "/api/devices/:id/history": fixed segments and `:param` segments, nothing else. */
    path: string
    handler: H
    /** bytes of body this route takes (413 above); HTTP_DEFAULTS.maxBodyBytes when absent. */
    bodyLimit?: number
}

export interface ApiRequest {
    /** Path params, percent-decoded. */
    params: Record<string, string>
    query: URLSearchParams
    req: IncomingMessage
    res: ServerResponse
    /** The JSON body, checked with the API's limits (415, 400; fastify answers 413 before the handler). */
    body(): Promise<unknown>
}

/** A value to answer as JSON (200), or ANSWERED when the handler wrote the response itself. */
export type Handler = (request: ApiRequest) => unknown | Promise<unknown>
export const ANSWERED = Symbol("answered")

export function apiRoutes(
    backend: ApiBackend,
    clock: () => number,
    httpStats: () => Record<string, number>
): Route<Handler>[] {
    return [
        { method: "GET", path: "/api/devices", handler: ({ query }) => listDevices(backend, query, clock()) },
        { method: "GET", path: "/api/summary", handler: ({ query }) => getSummary(backend, query, clock()) },
        { method: "GET", path: "/api/devices/:id", handler: ({ params, query }) => getDevice(backend, params, query) },
        {
            method: "GET",
            path: "/api/devices/:id/history",
            handler: ({ params, query }) => getHistory(backend, params, query, clock()),
        },
        { method: "GET", path: "/api/groups", handler: ({ query }) => listGroups(backend, query) },
        { method: "PATCH", path: "/api/groups/:name", handler: request => patchGroup(backend, request) },
        { method: "GET", path: "/api/settings", handler: ({ query }) => getSettings(backend, query) },
        { method: "PATCH", path: "/api/settings", handler: request => patchSettings(backend, request) },
        { method: "GET", path: "/api/device-config", handler: ({ query }) => getDeviceConfig(backend, query) },
        {
            method: "PATCH",
            path: "/api/device-config",
            handler: request => patchDeviceConfig(backend, request),
        },
        {
            method: "GET",
            path: "/api/device-config/devices/:id",
            handler: ({ params, query }) => getDeviceOverride(backend, params, query),
        },
        {
            method: "PATCH",
            path: "/api/device-config/devices/:id",
            handler: request => changeDeviceOverride(backend, request, true),
        },
        {
            method: "DELETE",
            path: "/api/device-config/devices/:id",
            handler: request => changeDeviceOverride(backend, request, false),
        },
        {
            method: "GET",
            path: "/api/device-config/groups/:name",
            handler: ({ params, query }) => getGroupOverride(backend, params, query),
        },
        {
            method: "PATCH",
            path: "/api/device-config/groups/:name",
            handler: request => changeGroupOverride(backend, request, true),
        },
        {
            method: "DELETE",
            path: "/api/device-config/groups/:name",
            handler: request => changeGroupOverride(backend, request, false),
        },
        { method: "PUT", path: "/api/sim/light", handler: request => putSimLight(backend, request) },
        { method: "GET", path: "/api/home-assistant", handler: ({ query }) => getHomeAssistant(backend, query) },
        {
            method: "PUT",
            path: "/api/home-assistant/devices/:id",
            handler: ({ params, query }) => showInHomeAssistant(backend, params, query, true),
        },
        {
            method: "DELETE",
            path: "/api/home-assistant/devices/:id",
            handler: ({ params, query }) => showInHomeAssistant(backend, params, query, false),
        },
        { method: "GET", path: "/api/stats", handler: ({ query }) => getStats(backend, query, httpStats) },
    ]
}

function getStats(backend: ApiBackend, query: URLSearchParams, httpStats: () => Record<string, number>) {
    parseQuery(noQuerySchema, query)
    const stats: StatsResponse = { ...backend.stats(), http: httpStats() }
    return stats
}

/** Without a query: every device, as before paging came (today's page and scripts rely on it). */
function listDevices(backend: ApiBackend, query: URLSearchParams, now: number) {
    if (query.size === 0) return { devices: backend.devices() }
    return backend.devicePage(parseQuery(deviceQuerySchema, query), now)
}

function getSummary(backend: ApiBackend, query: URLSearchParams, now: number) {
    parseQuery(noQuerySchema, query)
    return backend.summary(now)
}

function getDevice(backend: ApiBackend, params: Record<string, string>, query: URLSearchParams) {
    const id = checkDeviceId(params.id)
    parseQuery(noQuerySchema, query)
    return backend.device(id) ?? noDevice(id)
}

function getHistory(backend: ApiBackend, params: Record<string, string>, query: URLSearchParams, now: number) {
    const id = checkDeviceId(params.id)
    const { from, to, points } = historyRange(parseQuery(historyQuerySchema, query), now)
    return backend.history(id, from, to, points) ?? noDevice(id)
}

function listGroups(backend: ApiBackend, query: URLSearchParams) {
    parseQuery(noQuerySchema, query)
    return { groups: backend.groups() }
}

async function patchGroup(backend: ApiBackend, { params, query, body }: ApiRequest) {
    const name = checkGroupName(params.name)
    parseQuery(noQuerySchema, query)
    const patch = parseBody(groupRulePatchSchema, await body())
    const group = backend.updateGroupRule(name, patch)
    return group ?? noGroup(name)
}

function getSettings(backend: ApiBackend, query: URLSearchParams) {
    parseQuery(noQuerySchema, query)
    return backend.settings()
}

async function patchSettings(backend: ApiBackend, { query, body }: ApiRequest) {
    parseQuery(noQuerySchema, query)
    return backend.updateSettings(parseBody(settingsPatchSchema, await body()))
}

function getDeviceConfig(backend: ApiBackend, query: URLSearchParams) {
    parseQuery(noQuerySchema, query)
    return backend.deviceConfig()
}

async function patchDeviceConfig(backend: ApiBackend, { query, body }: ApiRequest) {
    parseQuery(noQuerySchema, query)
    return backend.updateDeviceConfig(parseBody(deviceConfigPatchSchema, await body()))
}

function getDeviceOverride(backend: ApiBackend, params: Record<string, string>, query: URLSearchParams) {
    const id = checkDeviceId(params.id)
    parseQuery(noQuerySchema, query)
    return backend.deviceConfigOf(id) ?? noDevice(id)
}

/** PATCH sets the fields given (null clears one); DELETE clears them all. */
async function changeDeviceOverride(backend: ApiBackend, { params, query, body }: ApiRequest, patch: boolean) {
    const id = checkDeviceId(params.id)
    parseQuery(noQuerySchema, query)
    const change = patch ? parseBody(deviceConfigOverrideSchema, await body()) : null
    return backend.overrideDeviceConfig(id, change) ?? noDevice(id)
}

function getGroupOverride(backend: ApiBackend, params: Record<string, string>, query: URLSearchParams) {
    const name = checkGroupName(params.name)
    parseQuery(noQuerySchema, query)
    return backend.groupConfigOf(name) ?? noGroup(name)
}

async function changeGroupOverride(backend: ApiBackend, { params, query, body }: ApiRequest, patch: boolean) {
    const name = checkGroupName(params.name)
    parseQuery(noQuerySchema, query)
    const change = patch ? parseBody(deviceConfigOverrideSchema, await body()) : null
    return backend.overrideGroupConfig(name, change) ?? noGroup(name)
}

async function putSimLight(backend: ApiBackend, { query, body }: ApiRequest) {
    parseQuery(noQuerySchema, query)
    const { light } = parseBody(simLightSchema, await body())
    const answer = backend.setSimLight(light)
    if (!answer) throw new ApiProblem(404, "no simulated device is running (the server was started with --no-sim)")
    return answer
}

function getHomeAssistant(backend: ApiBackend, query: URLSearchParams): HomeAssistantView {
    parseQuery(noQuerySchema, query)
    // 200 when off too: the dashboard asks on every load, and a 404 would be an error in its console
    return backend.homeAssistant?.() ?? { enabled: false, prefix: null, birthTopic: null, removed: [] }
}

async function showInHomeAssistant(
    backend: ApiBackend,
    params: Record<string, string>,
    query: URLSearchParams,
    shown: boolean
) {
    const id = checkDeviceId(params.id)
    parseQuery(noQuerySchema, query)
    return (await backend.showInHomeAssistant?.(id, shown)) ?? discoveryOff()
}

function discoveryOff(): never {
    throw new ApiProblem(404, "Home Assistant discovery is off (start the server with --ha-discovery)")
}

function noGroup(name: string): never {
    throw new ApiProblem(404, `no group named "${name}"`, "name")
}

function noDevice(id: string): never {
    throw new ApiProblem(404, `no device "${id}"`, "id")
}
