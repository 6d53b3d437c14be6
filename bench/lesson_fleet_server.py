# The server of IoT for Beginners, lesson 4, for the benchmark: the lesson's logic exactly (one command per
# reading, LED on when light < 300, the same prints), but subscribed to the telemetry of every device
# ("+/telemetry") and answering each on "<id>/commands", with the broker address passed in.
#   usage: python3 lesson_fleet_server.py <broker host> <broker port>
import json
import sys
import time

import paho.mqtt.client as mqtt

client_telemetry_topic = '+/telemetry'
client_name = 'benchfleetnightlight_server'

mqtt_client = mqtt.Client(client_name)
mqtt_client.connect(sys.argv[1], int(sys.argv[2]))

mqtt_client.loop_start()

def handle_telemetry(client, userdata, message):
    payload = json.loads(message.payload.decode())
    print("Message received:", payload)

    command = { 'led_on' : payload['light'] < 300 }
    print("Sending message:", command)

    server_command_topic = message.topic.split('/')[0] + '/commands'
    client.publish(server_command_topic, json.dumps(command))

mqtt_client.subscribe(client_telemetry_topic)
mqtt_client.on_message = handle_telemetry

while True:
    time.sleep(2)
