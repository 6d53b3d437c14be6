/**
 * `npx tsx bench/topic-routes.ts [--topics N] [--rounds R]`: the route cache of the buses
 * (server/mqtt/topic-routes.ts) against kept libraries, in one process, in interleaved pairs (ours and
 * theirs, then theirs and ours...). Four paths:
 * - hit: a fleet's topics again and again, what every reading costs in PublishRouter.take (the hot path);
 *   ours (a Map, forgotten whole when full) against lru-cache's LRUCache (forgets the least recent one);
 * - no cache: the same topics matched by aedes' own matcher (qlobber) every time: what the cache buys;
 * - one-off: every topic new (a client publishing anywhere it may), each a miss and an insert;
 * - match: working out a topic's route on a miss in MqttClientBus, our topicMatches over its few
 *   subscriptions against aedes' matcher holding them.
 * Prints ns per operation and theirs/ours (above 1: theirs is slower). Figures, not pass/fail.
 */
import { Aedes } from "aedes"
// The copy mqtt brings, not a dependency of ours: the comparison kept our cache (see topic-routes.ts).
import { LRUCache } from "lru-cache"
import { parseArgs } from "node:util"
import { SET_TOPIC_FILTER } from "../server/home-assistant/config"
import { topicMatches } from "../server/mqtt/message-bus"
import { MAX_ROUTES, TopicRoutes } from "../server/mqtt/topic-routes"
import { topics } from "../server/protocol/contract"

const { values } = parseArgs({
    options: {
        topics: { type: "string", default: "10000" },
        rounds: { type: "string", default: "21" },
    },
})
/** Distinct device topics in the fleet (the bench's default fleet is 10,000 devices). */
const TOPICS = Number(values.topics)
/** Rounds of each contender; medians are reported. */
const ROUNDS = Number(values.rounds)
/** Gets per round of the hit paths: passes over the fleet's topics. */
const HIT_GETS = Math.max(200_000, TOPICS * 20)
/** New topics per round of the one-off path: past MAX_ROUTES, so both caches evict. */
const ONE_OFF_GETS = MAX_ROUTES * 2
/** Topics matched per round of the match path. */
const MATCHES = 100_000

/** What the server's bus subscribes to (controller, Home Assistant discovery). */
const FILTERS = [
    topics.allTelemetry,
    topics.allCommands,
    topics.allAcks,
    topics.allStatus,
    SET_TOPIC_FILTER,
    "homeassistant/status",
]
const fleet = Array.from({ length: TOPICS }, (_, i) => `dev-${i}/telemetry`)
/** A route as MqttClientBus works it out: the subscriptions a topic matches (here their filters). */
const route = (topic: string) => FILTERS.filter(f => topicMatches(f, topic))

/** Kept from being optimised away. */
let sink = 0

interface Contender {
    name: string
    /** Runs one round, returns ns per operation. */
    round(): number
}

function timed(ops: number, body: () => void): number {
    const start = process.hrtime.bigint()
    body()
    return Number(process.hrtime.bigint() - start) / ops
}

function ours(): (topic: string) => string[] {
    const routes = new TopicRoutes(route)
    return topic => routes.get(topic)
}

function lru(): (topic: string) => string[] {
    const routes = new LRUCache<string, string[]>({ max: MAX_ROUTES })
    return topic => {
        let r = routes.get(topic)
        if (r === undefined) routes.set(topic, (r = route(topic)))
        return r
    }
}

function hitPath(name: string, make: () => (topic: string) => string[]): Contender {
    const get = make()
    for (const topic of fleet) get(topic) // warm: the fleet's routes are known
    return {
        name,
        round: () =>
            timed(HIT_GETS, () => {
                for (let i = 0; i < HIT_GETS; i++) sink += get(fleet[i % TOPICS]).length
            }),
    }
}

let oneOffSerial = 0
function oneOffPath(name: string, make: () => (topic: string) => string[]): Contender {
    const get = make()
    return {
        name,
        round: () =>
            timed(ONE_OFF_GETS, () => {
                for (let i = 0; i < ONE_OFF_GETS; i++) sink += get(`anywhere/${oneOffSerial++}/x`).length
            }),
    }
}

/** aedes' matcher (qlobber, in its mqemitter), reached as PublishRouter reaches it, holding the FILTERS. */
type Matcher = { match(topic: string): unknown[] }
const broker = await Aedes.createBroker()
for (const f of FILTERS) await new Promise<void>(done => broker.subscribe(f, (_packet, cb) => cb(), done))
const matcher = (broker as unknown as { mq: { _matcher: Matcher } }).mq._matcher

function noCachePath(): Contender {
    return {
        name: "aedes match",
        round: () =>
            timed(HIT_GETS, () => {
                for (let i = 0; i < HIT_GETS; i++) sink += matcher.match(fleet[i % TOPICS]).length
            }),
    }
}

function matchPath(): [Contender, Contender] {
    const sample = Array.from({ length: MATCHES }, (_, i) => fleet[i % TOPICS])
    return [
        { name: "topicMatches", round: () => timed(MATCHES, () => sample.forEach(t => (sink += route(t).length))) },
        {
            name: "aedes match",
            // qlobber lets "+" and "#" match "$" topics (aedes checks that elsewhere): so would we.
            round: () =>
                timed(MATCHES, () => sample.forEach(t => (sink += t.startsWith("$") ? 0 : matcher.match(t).length))),
        },
    ]
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Runs ours and theirs in pairs, ROUNDS of each, which of a pair goes first alternating; prints the
 * medians and the median of the pairs' ratios, which other work on the machine skews least.
 */
function compare(path: string, a: Contender, b: Contender): void {
    const times: [number[], number[]] = [[], []]
    const ratios: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
        let ta: number, tb: number
        if (r % 2 === 0) {
            ta = a.round()
            tb = b.round()
        } else {
            tb = b.round()
            ta = a.round()
        }
        times[0].push(ta)
        times[1].push(tb)
        ratios.push(tb / ta)
    }
    const [ma, mb] = times.map(median)
    const ns = (t: number) => `${t.toFixed(1).padStart(8)} ns`
    const ratio = median(ratios).toFixed(2)
    console.log(
        `${path.padEnd(9)} ${a.name.padEnd(12)} ${ns(ma)}   ${b.name.padEnd(12)} ${ns(mb)}   theirs/ours ${ratio}`
    )
}

console.log(`${TOPICS} fleet topics, ${FILTERS.length} filters; ns per operation, medians of ${ROUNDS} pairs`)
compare("hit", hitPath("TopicRoutes", ours), hitPath("LRUCache", lru))
compare("no cache", hitPath("TopicRoutes", ours), noCachePath())
compare("one-off", oneOffPath("TopicRoutes", ours), oneOffPath("LRUCache", lru))
compare("match", ...matchPath())
if (sink === 0.5) console.log(sink)
await new Promise<void>(done => broker.close(done))
