"""An SMTP server for the receipt tests, on 127.0.0.1: each message it accepts becomes a file
<n>.eml in DIR (written whole, then renamed). While DIR holds a file named `refuse`, it
answers every message with 451 (try again later), as a busy mail server does.

    python3 smtp_sink.py DIR PORT
"""
import os
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(self.directory, "refuse")):
            return "451 4.3.0 Busy, try again later"
        with self.lock:
            n = len([f for f in os.listdir(self.directory) if f.endswith(".eml")])
            path = os.path.join(self.directory, f"{n:04d}.eml")
            with open(path + ".part", "wb") as f:
                f.write(envelope.original_content)
            os.rename(path + ".part", path)
        return "250 OK"


if __name__ == "__main__":
    directory, port = sys.argv[1], int(sys.argv[2])
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()
