// Nightlight on a Raspberry Pi Pico W (boards/picow_nightlight.board.json): light sensor on GP26, LED on GP15.
import { board } from "@dsboard/picow_nightlight"
import { startNightlight } from "./nightlight"

await startNightlight(board.startLight(), board.startLed())
