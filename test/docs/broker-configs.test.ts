/**
 * The EMQX and HiveMQ configurations in docs/scale-out.md, read as their brokers would read them (the
 * EMQX acl.conf rules, the HiveMQ File RBAC roles), give each role exactly the rights of
 * server/auth/acl.ts: what the embedded broker enforces and examples/mosquitto/nightlight.acl repeats
 * (a real Mosquitto runs that one: test/interop/mosquitto-acl.test.ts). We run neither EMQX nor HiveMQ here.
 */
import { readFileSync } from "node:fs"
import { describe, expect, test } from "vitest"
import { rulesFor, type Principal } from "../../server/auth/acl"
import type { Role } from "../../server/auth/credentials"

const DOC = readFileSync(new URL("../../docs/scale-out.md", import.meta.url), "utf8")

/** The fenced block of `language` in the doc's section `heading`. */
function block(heading: string, language: string): string {
    const section = DOC.split(/^### /m).find(s => s.startsWith(heading))
    const found = section && new RegExp("```" + language + "\\n([\\s\\S]*?)```").exec(section)
    if (!found) throw new Error(`docs/scale-out.md: no \`\`\`${language} block under "### ${heading}"`)
    return found[1]
}

type Rights = { publish: string[]; subscribe: string[] }
const sorted = (r: Rights): Rights => ({ publish: [...r.publish].sort(), subscribe: [...r.subscribe].sort() })

/** acl.ts's rules for a role: `read` is what may be subscribed to. */
function expected(role: Role, username: string): Rights {
    const rules = rulesFor({ kind: "user", username, role } satisfies Principal)
    return sorted({ publish: rules.publish, subscribe: rules.read })
}

describe("docs/scale-out.md: the broker configurations give the roles of server/auth/acl.ts", () => {
    test("EMQX acl.conf", () => {
        const rights = new Map<string, Rights>()
        let last = ""
        for (const line of block("EMQX", "erlang").split("\n")) {
            const rule = line.trim()
            if (rule === "" || rule.startsWith("%%")) continue
            last = rule
            const m = /^\{allow, (all|\{username, "([^"]+)"\}), (publish|subscribe|all), \[(.*)\]\}\.$/.exec(rule)
            if (!m) continue
            const who = m[2] ?? "all"
            const topics = [...m[4].matchAll(/"([^"]*)"/g)].map(t => t[1])
            const r = rights.get(who) ?? { publish: [], subscribe: [] }
            if (m[3] !== "subscribe") r.publish.push(...topics)
            if (m[3] !== "publish") r.subscribe.push(...topics)
            rights.set(who, r)
        }
        expect(last).toBe("{deny, all}.")
        const server = rights.get("nightlight-server")!
        // the shared subscription, as some EMQX versions check it with its prefix
        expect(server.subscribe).toContain("$share/nightlights/+/telemetry")
        server.subscribe = server.subscribe.filter(t => !t.startsWith("$share/"))
        expect(sorted(server)).toEqual(expected("server", "nightlight-server"))
        expect(sorted(rights.get("homeassistant")!)).toEqual(expected("home-assistant", "homeassistant"))
        expect(sorted(rights.get("all")!)).toEqual(expected("device", "${username}"))
        expect([...rights.keys()].sort()).toEqual(["all", "homeassistant", "nightlight-server"])
    })

    test("EMQX emqx.conf: the dispatch strategy under its 5.1 name", () => {
        const conf = block("EMQX", "hcl")
        expect(conf).toMatch(/^mqtt\.shared_subscription_strategy = hash_clientid$/m)
        expect(conf).not.toMatch(/^broker\./m) // ignored since EMQX 5.1
    })

    test("HiveMQ File RBAC credentials.xml", () => {
        const xml = block("HiveMQ", "xml")
        const roles = new Map<string, Rights>()
        for (const role of xml.matchAll(/<role>([\s\S]*?)<\/role>/g)) {
            const id = /<id>([^<]+)<\/id>/.exec(role[1])![1]
            const r: Rights = { publish: [], subscribe: [] }
            for (const p of role[1].matchAll(/<permission>([\s\S]*?)<\/permission>/g)) {
                const topic = /<topic>([^<]+)<\/topic>/.exec(p[1])![1]
                const activity = /<activity>([^<]+)<\/activity>/.exec(p[1])?.[1] ?? "ALL"
                if (activity !== "SUBSCRIBE") r.publish.push(topic)
                if (activity !== "PUBLISH") r.subscribe.push(topic)
            }
            roles.set(id, r)
        }
        expect(sorted(roles.get("nightlight-server")!)).toEqual(expected("server", "nightlight-server"))
        expect(sorted(roles.get("homeassistant")!)).toEqual(expected("home-assistant", "homeassistant"))
        expect(sorted(roles.get("device")!)).toEqual(expected("device", "${{username}}"))
        // each user has the role of its name (a device: "device")
        const users = [...xml.matchAll(/<user>[\s\S]*?<name>([^<]+)<\/name>[\s\S]*?<id>([^<]+)<\/id>/g)]
        expect(users.map(u => [u[1], u[2]])).toEqual([
            ["nightlight-server", "nightlight-server"],
            ["homeassistant", "homeassistant"],
            ["porch", "device"],
        ])
    })
})
