/**
 * One group: its decision, the vote count, each member's vote (or why it does not vote), a form to
 * change the rule (PATCH /api/groups/:name) and one for the members' config (group-config-form.ts).
 * The server checks the rule as a whole and names the field at fault, which the form marks.
 */
import type { DeviceView, GroupRule, GroupRulePatch, GroupView, RuleSettings } from "../server/http/api-types"
import { ApiRequestError, patchGroupRule } from "./api"
import { duration, el, setData, setText, showStatus } from "./dom"
import { GroupConfigForm } from "./group-config-form"

/** Members listed per card: a group of a whole floor would otherwise fill the page (and the DOM). */
export const MEMBERS_SHOWN = 24

/** The members a card lists: those not voting first (they need a look), then in the file's order. */
export function shownMembers(group: GroupView): string[] {
    const notVoting = new Set(group.votes.notVoting.map(entry => entry.id))
    const first = group.members.filter(id => notVoting.has(id))
    const rest = group.members.filter(id => !notVoting.has(id))
    return [...first, ...rest].slice(0, MEMBERS_SHOWN)
}

export class GroupCard {
    readonly element: HTMLElement
    private readonly led: HTMLElement
    private readonly ruleText: HTMLElement
    private readonly votes: HTMLElement
    private readonly members: HTMLElement
    private readonly form: HTMLFormElement
    private readonly inputs: {
        kind: HTMLSelectElement
        dark: HTMLInputElement
        stale: HTMLInputElement
        minVoters: HTMLInputElement
    }
    private readonly darkRow: HTMLElement
    private readonly status: HTMLElement
    private group: GroupView

    constructor(group: GroupView) {
        this.group = group
        const id = (suffix: string) => `group-${group.name}-${suffix}`
        this.led = el("span", { class: "pill", "data-testid": "group-led" })
        this.ruleText = el("p", { class: "sub", "data-testid": "group-rule" })
        this.votes = el("p", { class: "votes", "data-testid": "group-votes" })
        this.members = el("ul", { class: "members", "aria-label": `Members of ${group.name}` })
        this.inputs = {
            kind: el("select", { id: id("kind"), name: "kind", "data-testid": "group-rule-kind" }, [
                el("option", { value: "majority", text: "majority" }),
                el("option", { value: "at-least", text: "at least N dark" }),
            ]),
            dark: numberInput(id("dark"), "dark", 1, "group-rule-dark"),
            stale: numberInput(id("stale"), "staleAfterMs", 1, "group-rule-stale"),
            minVoters: numberInput(id("min"), "minVoters", 1, "group-rule-min-voters"),
        }
        this.darkRow = labelled("Dark members needed", this.inputs.dark)
        this.status = el("p", { class: "form-status", "data-testid": "group-rule-status", role: "status" })
        this.form = el("form", { class: "rule-form", "data-testid": "group-rule-form", novalidate: true }, [
            labelled("Rule", this.inputs.kind),
            this.darkRow,
            labelled("Reading counts for (s)", this.inputs.stale),
            labelled("Fewest voters", this.inputs.minVoters),
            el("button", { type: "submit", "data-testid": "group-rule-apply", text: "Apply" }),
        ])
        this.element = el("article", { class: "card group", "data-testid": "group-card", "data-group": group.name }, [
            el("header", { class: "card-head" }, [el("h3", { text: group.name }), this.led]),
            this.ruleText,
            this.votes,
            this.members,
            el("details", {}, [el("summary", { text: "Change rule" }), this.form, this.status]),
            new GroupConfigForm(group.name).element,
        ])
        this.inputs.kind.addEventListener("change", () => this.showDarkRow())
        this.form.addEventListener("submit", event => {
            event.preventDefault()
            void this.submit()
        })
        this.fillForm(group.rule)
    }

    update(group: GroupView, devices: Map<string, DeviceView>, settings: RuleSettings | null): void {
        const ruleChanged = JSON.stringify(group.rule) !== JSON.stringify(this.group.rule)
        this.group = group
        const led = group.ledOn === null ? "undecided" : group.ledOn ? "on" : "off"
        setText(this.led, `LED ${led}`)
        setData(this.led, "state", led)
        setText(this.ruleText, ruleText(group.rule))
        setText(this.votes, `${group.votes.dark} of ${group.votes.voters} voters dark`)
        const shown = shownMembers(group)
        const items = shown.map(id => this.member(id, devices.get(id), settings))
        const more = group.members.length - shown.length
        if (more > 0)
            items.push(
                el("li", {
                    class: "member more",
                    "data-testid": "group-more-members",
                    text: `and ${more.toLocaleString("en-US")} more`,
                })
            )
        this.members.replaceChildren(...items)
        if (ruleChanged && !this.form.contains(document.activeElement)) this.fillForm(group.rule)
    }

    private member(id: string, device: DeviceView | undefined, settings: RuleSettings | null): HTMLElement {
        const notVoting = this.group.votes.notVoting.find(entry => entry.id === id)
        let vote: string
        let text: string
        if (notVoting) {
            vote = "not-voting"
            text = `not voting (${notVoting.why.replace("_", " ")})`
        } else if (device?.light == null || !settings) {
            vote = "unknown"
            text = "voting"
        } else {
            // The group's own rule: a dark member stays dark until threshold + band while the group is on.
            const limit = settings.threshold + (this.group.ledOn ? settings.band : 0)
            vote = device.light < limit ? "dark" : "light"
            text = `${vote} (${Math.round(device.light)})`
        }
        return el("li", { class: "member", "data-testid": "group-member", "data-device-id": id, "data-vote": vote }, [
            el("span", { class: "member-id", text: id }),
            el("span", { class: "member-vote", text }),
        ])
    }

    private fillForm(rule: GroupRule): void {
        this.inputs.kind.value = rule.kind
        this.inputs.dark.value = rule.kind === "at-least" ? String(rule.dark) : ""
        this.inputs.stale.value = String(rule.staleAfterMs / 1000)
        this.inputs.minVoters.value = String(rule.minVoters)
        this.showDarkRow()
    }

    private showDarkRow(): void {
        this.darkRow.hidden = this.inputs.kind.value !== "at-least"
    }

    private async submit(): Promise<void> {
        for (const input of Object.values(this.inputs)) input.removeAttribute("aria-invalid")
        const patch: GroupRulePatch = {
            kind: this.inputs.kind.value as GroupRule["kind"],
            staleAfterMs: Math.round(Number(this.inputs.stale.value) * 1000),
            minVoters: Number(this.inputs.minVoters.value),
        }
        if (patch.kind === "at-least") patch.dark = Number(this.inputs.dark.value)
        showStatus(this.status, "saving…", "busy")
        try {
            const group = await patchGroupRule(this.group.name, patch)
            this.fillForm(group.rule)
            showStatus(this.status, "Saved.")
        } catch (error) {
            const field = error instanceof ApiRequestError ? error.field : undefined
            const input = Object.values(this.inputs).find(i => i.name === field)
            input?.setAttribute("aria-invalid", "true")
            showStatus(this.status, (error as Error).message, "error")
        }
    }
}

function numberInput(id: string, name: string, min: number, testId: string): HTMLInputElement {
    return el("input", { id, name, type: "number", inputmode: "numeric", min, step: 1, "data-testid": testId })
}

function labelled(text: string, control: HTMLElement): HTMLElement {
    return el("label", { class: "field" }, [el("span", { text }), control])
}

function ruleText(rule: GroupRule): string {
    const needs =
        rule.kind === "majority"
            ? "on when more than half of the voters are dark"
            : `on when ${rule.dark} voters are dark`
    return `${needs}; a reading counts for ${duration(rule.staleAfterMs)}; needs ${rule.minVoters} voter${rule.minVoters === 1 ? "" : "s"}`
}
