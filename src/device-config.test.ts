import { describe, expect, test } from "@devicescript/test"
import { decodeDeviceConfig, refusalText } from "./device-config"
import { encodeTelemetry } from "./protocol"

const GOOD = '{"version":1764950123,"threshold":250,"band":60,"reportMs":1000,"minChange":10,"localAfterMs":4000}'

/** GOOD with one field replaced (or removed, with undefined). */
function withField(name: string, value: any): string {
    const o: any = JSON.parse(GOOD)
    if (value === undefined) delete o[name]
    else o[name] = value
    return JSON.stringify(o)
}

describe("decodeDeviceConfig", () => {
    test("takes a full config, with a version as large as the server's (seconds since 1970)", () => {
        const r = decodeDeviceConfig(GOOD)
        expect(r.error).toBe(undefined)
        expect(r.config.version).toBe(1764950123)
        expect(r.config.version > 1764950122).toBe(true)
        expect(r.config.threshold).toBe(250)
        expect(r.config.band).toBe(60)
        expect(r.config.reportMs).toBe(1000)
        expect(r.config.minChange).toBe(10)
        expect(r.config.localAfterMs).toBe(4000)
    })

    test("ignores fields it does not know (a later server's per-group extras)", () => {
        expect(decodeDeviceConfig(withField("group", "hall")).config.threshold).toBe(250)
    })

    test("takes the edges of every range, as the settings do", () => {
        expect(decodeDeviceConfig(withField("band", 0)).config.band).toBe(0)
        expect(decodeDeviceConfig(withField("threshold", 1023)).config.threshold).toBe(1023)
        expect(decodeDeviceConfig(withField("reportMs", 100)).config.reportMs).toBe(100)
        expect(decodeDeviceConfig(withField("localAfterMs", 3600000)).config.localAfterMs).toBe(3600000)
    })

    test("refuses a config missing any field, naming it", () => {
        for (const name of ["threshold", "band", "reportMs", "minChange", "localAfterMs"]) {
            const r = decodeDeviceConfig(withField(name, undefined))
            expect(r.config).toBe(undefined)
            expect(r.error).toBe(`"${name}" is missing`)
            expect(r.version).toBe(1764950123)
        }
    })

    test("refuses values out of range, fractions, strings and null", () => {
        const bad: any[][] = [
            ["threshold", 0],
            ["threshold", 1024],
            ["band", -1],
            ["reportMs", 99],
            ["minChange", 0],
            ["localAfterMs", 999],
            ["localAfterMs", 3600001],
            ["band", 1.5],
            ["threshold", "300"],
            ["band", null],
            ["minChange", true],
        ]
        for (const pair of bad) {
            const name: string = pair[0]
            const r = decodeDeviceConfig(withField(name, pair[1]))
            expect(r.config).toBe(undefined)
            expect(r.error.indexOf(`"${name}" must be a whole number in `)).toBe(0)
        }
    })

    test("refuses a missing or bad version, and what is not a JSON object", () => {
        expect(decodeDeviceConfig(withField("version", undefined)).error).toBe(
            '"version" must be a whole number from 1'
        )
        expect(decodeDeviceConfig(withField("version", 0)).version).toBe(0)
        expect(decodeDeviceConfig(withField("version", 2.5)).config).toBe(undefined)
        expect(decodeDeviceConfig(withField("version", "7")).config).toBe(undefined)
        expect(decodeDeviceConfig("threshold=300").error).toBe("not JSON")
        expect(decodeDeviceConfig("[1]").error).toBe("not a JSON object")
        expect(decodeDeviceConfig("null").error).toBe("not a JSON object")
        expect(decodeDeviceConfig("").config).toBe(undefined)
    })
})

describe("refusalText", () => {
    test("names the refused version, or ? when it had none, and stays short", () => {
        expect(refusalText(decodeDeviceConfig(withField("band", 5000)))).toBe(
            '1764950123: "band" must be a whole number in 0..1023'
        )
        expect(refusalText(decodeDeviceConfig("nope"))).toBe("?: not JSON")
        let long = "x"
        for (let i = 0; i < 9; i++) long = long + long // 512 characters
        expect(refusalText({ error: long, version: 7 }).length).toBe(100)
    })
})

describe("readings say which config runs", () => {
    const r = { seq: 7, t: 12000, light: 123, led: true, local: false }
    test("cfg once a config runs, cfgErr while one was refused; neither before", () => {
        expect(encodeTelemetry(r, "b", 5, 0, 0, undefined).indexOf("cfg")).toBe(-1)
        const text = encodeTelemetry(r, "b", 5, 0, 1764950123, '8: "band" is missing')
        const o = JSON.parse(text)
        expect(o.cfg).toBe(1764950123)
        expect(o.cfgErr).toBe('8: "band" is missing')
        expect(o.light).toBe(123)
    })
})
