"""Fixtures for the binding tests: the generated `tutti` module, a real `tutti-server` with a
temporary SQLite database, its HTTP API, and a paced host that drives `process` like a sound card.

Environment (set by bindings/test.sh):
  TUTTI_PY_BINDINGS  directory holding the generated tutti.py next to libtutti_ffi.so
  TUTTI_SERVER       path of the tutti-server binary
"""

import json
import math
import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

GUARD_SECONDS = 90  # any single wait; generous, the CI machine is shared


@pytest.fixture(scope="session")
def tutti():
    """The generated bindings module."""
    bindings = os.environ.get("TUTTI_PY_BINDINGS")
    if not bindings:
        pytest.fail("TUTTI_PY_BINDINGS is not set: run bindings/test.sh")
    sys.path.insert(0, bindings)
    import tutti as module  # noqa: PLC0415 (generated at test time)

    return module


class Server:
    """A tutti-server process on a free loopback port with its own database."""

    def __init__(self, binary, db):
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1:0", "--demo-data", "false",
             "--allow-anonymous-signalling", "--database-url", f"sqlite://{db}"],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "RUST_LOG": "warn"})
        prefix = "tutti-server listening on "
        deadline = time.monotonic() + GUARD_SECONDS
        for line in self.process.stdout:
            if line.startswith(prefix):
                self.url = line[len(prefix):].strip()
                break
            if time.monotonic() > deadline:
                break
        else:
            raise RuntimeError("tutti-server ended before listening")
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def post(self, path, body, token=None):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.load(reply)

    def sign_up(self, email):
        reply = self.post("/api/v1/auth/signup", {"email": email, "password": "correct horse battery"})
        return reply["access_token"]

    def create_room(self, token, name):
        reply = self.post("/api/v1/rooms", {"name": name, "visibility": "public", "capacity": 4}, token)
        return reply["id"]

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture()
def server(tmp_path):
    binary = os.environ.get("TUTTI_SERVER")
    if not binary:
        pytest.fail("TUTTI_SERVER is not set: run bindings/test.sh")
    s = Server(binary, tmp_path / "tutti.db")
    yield s
    s.stop()


class Recorder:
    """A session listener that keeps every event, for the test to wait on."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def on_event(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, what, predicate):
        deadline = time.monotonic() + GUARD_SECONDS
        with self.cond:
            while True:
                found = [e for e in self.events if predicate(e)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {what}; events: {self.events}"
                self.cond.wait(left)


class PacedHost(threading.Thread):
    """Stands in for the sound cards of several clients: every `block` frames of real time it
    hands each client one block of its sine tone and records the left channel of what it
    returns. (`process` from Python is not real-time safe; the engine copes with the jitter.)"""

    def __init__(self, clients_and_tones, rate, block):
        super().__init__(daemon=True)
        self.parts = [(c, f, []) for c, f in clients_and_tones]
        self.rate, self.block = rate, block
        self.stop_flag = threading.Event()
        self.error = None

    def run(self):
        period = self.block / self.rate
        next_at = time.monotonic()
        n = 0
        try:
            while not self.stop_flag.is_set():
                for client, freq, recording in self.parts:
                    tone = [0.5 * math.sin(2 * math.pi * freq * (n + i) / self.rate)
                            for i in range(self.block)]
                    out = client.process(tone)
                    recording.extend(out[0::2])
                n += self.block
                next_at += period
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        except Exception as e:  # surfaced by the test through `recording`
            self.error = e

    def recording(self, index):
        return self.parts[index][2]

    def stop(self):
        self.stop_flag.set()
        self.join(GUARD_SECONDS)


def goertzel_power(samples, freq, rate):
    """Power of one frequency over the samples (the Goertzel recurrence)."""
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / max(1, len(samples))
