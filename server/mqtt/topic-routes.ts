/**
 * Each topic's route, remembered; forgotten all at once on clear() or past MAX_ROUTES. A Map rather
 * than lru-cache: hits are cheaper (bench/topic-routes.ts), and forgetting all is rare.
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
