/**
 * What each topic routes to, worked out once per topic and remembered: the buses see the same few topics
 * per device over and over, and matching each message against every subscription again cost several per
 * cent of the server's CPU (publish-router.ts, client-bus.ts). Forgotten all at once when a
 * subscription changes (clear()), and when more than MAX_ROUTES topics are remembered, so many one-off
 * topics (a client publishing anywhere it may) cannot grow it without end.
 * A Map rather than lru-cache's LRU: a hit, every reading's cost, took about 1.5x as long in the LRU
 * (bench/topic-routes.ts), and forgetting all at once costs the fleet one miss per topic, rarely.
 */

/** Topics remembered at most; a fleet's devices have a few topics each. */
export const MAX_ROUTES = 50_000

export class TopicRoutes<R> {
    private readonly routes = new Map<string, R>()

    /** @param route works out a topic's route when it is not remembered (never undefined) */
    constructor(private readonly route: (topic: string) => R) {}

    get(topic: string): R {
        let route = this.routes.get(topic)
        if (route === undefined) {
            route = this.route(topic)
            if (this.routes.size >= MAX_ROUTES) this.routes.clear()
            this.routes.set(topic, route)
        }
        return route
    }

    clear(): void {
        this.routes.clear()
    }
}
