/**
 * The dashboard's calls to the HTTP API, typed by the shared contract (server/http/api-types.ts). An error
 * answer becomes an ApiRequestError carrying the server's message and the field at fault, which the
 * forms show next to that field.
 */
import type {
    ApiError,
    DeviceConfigDeviceView,
    DeviceConfigGroupView,
    DeviceConfigOverridePatch,
    DeviceConfigPatch,
    DeviceConfigResponse,
    DevicePageResponse,
    DeviceQuery,
    DeviceView,
    GroupRulePatch,
    GroupView,
    HistoryResponse,
    HomeAssistantView,
    RuleSettings,
    RuleSettingsPatch,
    SimLight,
    SimLightResponse,
    StatsResponse,
    WatchRequest,
    WatchResponse,
} from "../server/http/api-types"

export class ApiRequestError extends Error {
    constructor(
        readonly status: number,
        message: string,
        readonly field?: string
    ) {
        super(message)
        this.name = "ApiRequestError"
    }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response
    try {
        response = await fetch(path, {
            method,
            headers: body === undefined ? {} : { "Content-Type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
        })
    } catch {
        throw new ApiRequestError(0, "the server cannot be reached")
    }
    const text = await response.text()
    let json: unknown
    try {
        json = JSON.parse(text)
    } catch {
        throw new ApiRequestError(response.status, `unexpected answer from the server (HTTP ${response.status})`)
    }
    if (!response.ok) {
        const error = json as Partial<ApiError>
        throw new ApiRequestError(response.status, error.error ?? `HTTP ${response.status}`, error.field)
    }
    return json as T
}

/** One page of the devices matching the query, sorted by the server. */
export function getDevicePage(query: DeviceQuery): Promise<DevicePageResponse> {
    const params = new URLSearchParams({
        offset: String(query.offset),
        limit: String(query.limit),
        sort: query.sort,
        order: query.order,
    })
    if (query.state) params.set("state", query.state)
    if (query.q) params.set("q", query.q)
    return call("GET", `/api/devices?${params}`)
}

export function getDevice(id: string): Promise<DeviceView> {
    return call("GET", `/api/devices/${encodeURIComponent(id)}`)
}

/** The devices whose events the fleet stream `stream` sends from now on (404: no such stream). */
export function putWatch(stream: string, request: WatchRequest): Promise<WatchResponse> {
    return call("PUT", `/api/events/${encodeURIComponent(stream)}/watch`, request)
}

export function getHistory(id: string, from: number, to: number, points: number): Promise<HistoryResponse> {
    const query = new URLSearchParams({ from: String(from), to: String(to), points: String(points) })
    return call("GET", `/api/devices/${encodeURIComponent(id)}/history?${query}`)
}

export function patchSettings(patch: RuleSettingsPatch): Promise<RuleSettings> {
    return call("PATCH", "/api/settings", patch)
}

export function patchGroupRule(name: string, patch: GroupRulePatch): Promise<GroupView> {
    return call("PATCH", `/api/groups/${encodeURIComponent(name)}`, patch)
}

/** A light to hold, or "daylight": back to the simulator's day/night cycle. */
export function setSimLight(light: SimLight): Promise<SimLightResponse> {
    return call("PUT", "/api/sim/light", { light })
}

export function getHomeAssistant(): Promise<HomeAssistantView> {
    return call("GET", "/api/home-assistant")
}

/** Brings a device deleted in Home Assistant back. */
export function showInHomeAssistant(id: string): Promise<HomeAssistantView> {
    return call("PUT", `/api/home-assistant/devices/${encodeURIComponent(id)}`)
}

export function getDeviceConfig(): Promise<DeviceConfigResponse> {
    return call("GET", "/api/device-config")
}

export function patchDeviceConfig(patch: DeviceConfigPatch): Promise<DeviceConfigResponse> {
    return call("PATCH", "/api/device-config", patch)
}

export function getDeviceConfigOf(id: string): Promise<DeviceConfigDeviceView> {
    return call("GET", `/api/device-config/devices/${encodeURIComponent(id)}`)
}

/** The device's own values: a number sets one, null clears it. */
export function patchDeviceConfigOverride(
    id: string,
    patch: DeviceConfigOverridePatch
): Promise<DeviceConfigDeviceView> {
    return call("PATCH", `/api/device-config/devices/${encodeURIComponent(id)}`, patch)
}

export function clearDeviceConfigOverride(id: string): Promise<DeviceConfigDeviceView> {
    return call("DELETE", `/api/device-config/devices/${encodeURIComponent(id)}`)
}

export function getGroupConfig(name: string): Promise<DeviceConfigGroupView> {
    return call("GET", `/api/device-config/groups/${encodeURIComponent(name)}`)
}

/** The group's own values: a number sets one, null clears it. */
export function patchGroupConfig(name: string, patch: DeviceConfigOverridePatch): Promise<DeviceConfigGroupView> {
    return call("PATCH", `/api/device-config/groups/${encodeURIComponent(name)}`, patch)
}

export function clearGroupConfig(name: string): Promise<DeviceConfigGroupView> {
    return call("DELETE", `/api/device-config/groups/${encodeURIComponent(name)}`)
}

export function getStats(): Promise<StatsResponse> {
    return call("GET", "/api/stats")
}
