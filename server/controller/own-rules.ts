/**
 * Which devices judge by a threshold and band of their own, and when that changes, for the per-device
 * rule log (store/device-rule-log.ts). A device's own rule is its effective threshold and band while
 * either comes from its group's or its own values; null while both are the fleet's ("follows the
 * fleet"). Only such devices are looked at on a fleet change: the others follow it by definition.
 */
import type { RuleSettings } from "../http/api-types"
import type { EffectiveConfig } from "./config-overrides"

/** One device's own rule from now on; null: the fleet's again. */
export interface OwnRuleChange {
    deviceId: string
    rule: RuleSettings | null
}

export function ownRule({ values, sources }: EffectiveConfig): RuleSettings | null {
    if (sources.threshold === "fleet" && sources.band === "fleet") return null
    return { threshold: values.threshold, band: values.band }
}

export class OwnRules {
    /** The devices whose own rule was last told, with it. */
    private readonly inForce: Map<string, RuleSettings>

    /** `saved`: what the log last recorded, so a restart tells only what changed meanwhile. */
    constructor(saved: ReadonlyMap<string, RuleSettings> = new Map()) {
        this.inForce = new Map(saved)
    }

    /** The devices with a rule of their own now: a fleet change may move it (a partial override). */
    ids(): string[] {
        return [...this.inForce.keys()]
    }

    /** The devices among `ids` whose own rule is not the one last told; remembered as told. */
    check(ids: Iterable<string>, effective: (deviceId: string) => EffectiveConfig): OwnRuleChange[] {
        const changes: OwnRuleChange[] = []
        for (const deviceId of new Set(ids)) {
            const rule = ownRule(effective(deviceId))
            const was = this.inForce.get(deviceId)
            if (rule === null) {
                if (was === undefined) continue
                this.inForce.delete(deviceId)
            } else {
                if (was?.threshold === rule.threshold && was.band === rule.band) continue
                this.inForce.set(deviceId, rule)
            }
            changes.push({ deviceId, rule })
        }
        return changes
    }
}
