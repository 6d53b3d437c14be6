// Nightlight on an ESP32-DevKitC (boards/devkitc_nightlight.board.json): light sensor on GPIO32, LED on GPIO23.
import { board } from "@dsboard/devkitc_nightlight"
import { startNightlight } from "./nightlight"

await startNightlight(board.startLight(), board.startLed())
