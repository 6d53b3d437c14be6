/**
 * The wire protocol's numeric limits, in a module of their own: protocol.ts re-exports the payload
 * parsers (protocol-parse.ts), and the parsers build their schemas from these numbers when they load.
 * Were the numbers in protocol.ts, the two modules would import each other and a schema could be built
 * before LIGHT_MAX exists. Import them from protocol.ts everywhere else.
 */

/** Largest light value in the lesson's units (a 10-bit ADC reading). */
export const LIGHT_MAX = 1023
/** Payloads are tiny; anything bigger than this is rejected before parsing. */
export const MAX_PAYLOAD_BYTES = 1024
