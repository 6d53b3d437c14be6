// Nightlight on a Seeed XIAO ESP32-C3 (boards/xiao_nightlight.board.json): light sensor on A0, LED on A1.
// The simulator runs this build too: the roles bind to the virtual sensor and LED on the Jacdac bus.
import { board } from "@dsboard/xiao_nightlight"
import { startNightlight } from "./nightlight"

await startNightlight(board.startLight(), board.startLed())
