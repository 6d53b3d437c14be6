/**
 * Who may publish and subscribe to what: pure rules, one table per role (docs/security.md "Roles";
 * Mosquitto's are examples/mosquitto/acl). The username is the identity, whatever the client id.
 * A wildcard filter is allowed only if one allowed pattern contains it whole: conservative, and exact
 * for these tables. Nobody publishes to `$` topics; only admin and anonymous-on-loopback read `$SYS/#`.
 */
import { HA_DEFAULTS, configFilters } from "../home-assistant/config"
import { topicMatches } from "../mqtt/message-bus"
import type { Role } from "./credentials"

export type Principal = { kind: "anonymous" } | { kind: "user"; username: string; role: Role }

export const ACL_DEFAULTS = {
    /** --ha-prefix */
    haPrefix: HA_DEFAULTS.prefix,
    /** --ha-birth-topic, whatever the prefix. */
    haBirthTopic: HA_DEFAULTS.birthTopic,
}
export type AclOptions = Partial<typeof ACL_DEFAULTS>

/** Home Assistant switches a light here (home-assistant/discovery.ts setTopic). */
const SET_TOPICS = "nightlight/+/set"

export interface Rules {
    publish: string[]
    /** A subscription must fit inside one of them, and so must each delivery. */
    read: string[]
}

/** `<id>` below is the username. */
export function rulesFor(principal: Principal, options: AclOptions = {}): Rules {
    const ha = options.haPrefix ?? ACL_DEFAULTS.haPrefix
    const birth = options.haBirthTopic ?? ACL_DEFAULTS.haBirthTopic
    // our config topics: the server reads them to notice a device deleted in Home Assistant, which
    // deletes it by publishing an empty retained config there
    const configs = configFilters(ha)
    if (principal.kind === "anonymous") return { publish: ["#"], read: ["#", "$SYS/#"] }
    const id = principal.username
    switch (principal.role) {
        case "device":
            // What the firmware does (src/nightlight.ts): readings and its status out (the will too),
            // its commands, acks and config in.
            return {
                publish: [`${id}/telemetry`, `${id}/status`],
                read: [`${id}/commands`, `${id}/acks`, `${id}/config`],
            }
        case "server":
            // What server/controller/nightlight-server.ts and server/home-assistant/discovery.ts publish and subscribe, nothing more.
            return {
                publish: ["+/commands", "+/acks", "+/config", `${ha}/#`, SET_TOPICS],
                read: ["+/telemetry", "+/status", "+/commands", "+/acks", SET_TOPICS, birth, ...configs],
            }
        case "home-assistant":
            // Reads the discovery configs and the state topics they name; switches lights; deletes a
            // device (an empty retained config); its own birth and will.
            return {
                publish: [SET_TOPICS, birth, ...configs],
                read: [`${ha}/#`, "+/telemetry", "+/status", "+/commands"],
            }
        case "observer":
            return { publish: [], read: ["#"] }
        case "admin":
            return { publish: ["#"], read: ["#", "$SYS/#"] }
    }
}

export function canPublish(principal: Principal, topic: string, options?: AclOptions): boolean {
    return allowsPublish(rulesFor(principal, options), topic)
}

export function canSubscribe(principal: Principal, filter: string, options?: AclOptions): boolean {
    return allowsSubscribe(rulesFor(principal, options), filter)
}

/** The second lock behind canSubscribe. */
export function canRead(principal: Principal, topic: string, options?: AclOptions): boolean {
    return allowsRead(rulesFor(principal, options), topic)
}

/** The same three checks on rules worked out once (the broker keeps each client's rules). */
export function allowsPublish(rules: Rules, topic: string): boolean {
    if (topic.startsWith("$") || topic.includes("+") || topic.includes("#")) return false
    return rules.publish.some(pattern => matches(pattern, topic))
}

export function allowsSubscribe(rules: Rules, filter: string): boolean {
    return rules.read.some(pattern => filterCovers(pattern, filter))
}

export function allowsRead(rules: Rules, topic: string): boolean {
    return rules.read.some(pattern => matches(pattern, topic))
}

/** topicMatches, with a shortcut for "#": every delivery to an admin or anonymous client asks. */
function matches(pattern: string, topic: string): boolean {
    return pattern === "#" ? !topic.startsWith("$") : topicMatches(pattern, topic)
}

/**
 * True when every topic `filter` matches is also matched by `pattern` (both MQTT filters). A wildcard
 * in the first level of a pattern does not reach `$` topics, as in matching (MQTT 4.7.2).
 */
export function filterCovers(pattern: string, filter: string): boolean {
    const p = pattern.split("/")
    const f = filter.split("/")
    for (let i = 0; i < p.length; i++) {
        const wildcard = p[i] === "#" || p[i] === "+"
        if (i === 0 && wildcard && f[0].startsWith("$")) return false
        // "a/#" matches "a" and everything below it, and so covers any filter that starts with "a/"
        if (p[i] === "#") return true
        if (i >= f.length) return false // the filter stopped above this level; the pattern needs more
        if (f[i] === "#") return false // the filter reaches any depth; only "#" covers that
        if (p[i] === "+") continue // one level of anything, "+" included
        if (f[i] !== p[i]) return false // a literal covers only itself
    }
    return f.length === p.length
}
