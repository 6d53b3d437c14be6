import { describe, expect, test } from "@devicescript/test"
import { connectFailure } from "./connect-failure"

describe("connectFailure", () => {
    const url = "tcp://127.0.0.1:1"
    test("names the address once: the socket's and Node's copies go", () => {
        const simulator = "socket tcp://127.0.0.1:1: tcp://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1"
        expect(connectFailure(url, "127.0.0.1:1", simulator)).toBe("connect ECONNREFUSED")
    })
    test("keeps what is news: another address, a reason without one", () => {
        expect(connectFailure(url, "127.0.0.1:1", "socket tcp://127.0.0.1:1: timeout")).toBe("timeout")
        expect(connectFailure(url, "127.0.0.1:1", "connect ECONNREFUSED 10.0.0.2:1")).toBe(
            "connect ECONNREFUSED 10.0.0.2:1"
        )
    })
})
