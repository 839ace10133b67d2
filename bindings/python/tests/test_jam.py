"""The Python bindings against a real tutti-server: two clients in one process join a room over
loopback WebRTC, each sends a tone and hears the other's; events reach a Python listener;
errors surface as exceptions."""

import asyncio
import time

import pytest

from conftest import GUARD_SECONDS, PacedHost, Recorder, goertzel_power

RATE = 48_000
BLOCK = 480  # 10 ms per `process` call: Python's pace, not a phone's
HEARD_FRAMES = 800  # 2 s of 2.5 ms frames decoded from the peer before we listen


def settings(tutti):
    return tutti.EngineSettings(sample_rate=RATE, max_block_frames=BLOCK, channels=1)


def loopback(tutti):
    return tutti.JoinSettings(udp_bind=["127.0.0.1:0"], stats_interval_ms=250)


def listener(tutti):
    class Listener(Recorder, tutti.SessionListener):
        pass

    return Listener()


def decoded_from_peer(client):
    peers = client.statistics().peers
    return peers[0].frames_decoded if peers else 0


def assert_hears(recording, expected, other):
    tail = recording[-RATE:]
    p_expected = goertzel_power(tail, expected, RATE)
    p_other = goertzel_power(tail, other, RATE)
    p_between = goertzel_power(tail, (expected + other) / 2, RATE)
    rms = (sum(x * x for x in tail) / len(tail)) ** 0.5
    assert rms > 0.01, f"silence (RMS {rms})"
    assert p_expected > 20 * p_other, f"{expected} Hz {p_expected} vs {other} Hz {p_other}"
    assert p_expected > 20 * p_between, f"{expected} Hz {p_expected} vs noise {p_between}"


def test_two_clients_hear_each_others_tone_and_see_each_other_join(tutti, server):
    token = server.sign_up("ann@example.org")
    room = server.create_room(token, "python duo")
    ann_events, bob_events = listener(tutti), listener(tutti)
    ann = tutti.TuttiClient(settings(tutti), ann_events)
    bob = tutti.TuttiClient(settings(tutti), bob_events)
    host = PacedHost([(ann, 440.0), (bob, 660.0)], RATE, BLOCK)
    host.start()
    try:
        asyncio.run(ann.join(server.url, room, tutti.Identity.TOKEN(token), loopback(tutti)))
        asyncio.run(bob.join(server.url, room, tutti.Identity.ANONYMOUS("bob"), loopback(tutti)))
        assert ann.is_joined() and bob.is_joined()
        bob_id = bob.local_peer_id()

        joined = ann_events.wait_for("bob to join", lambda e: e.is_PEER_JOINED())
        assert joined.peer_id == bob_id and joined.display_name == "bob"
        welcome = bob_events.wait_for("bob's welcome", lambda e: e.is_JOINED())
        assert welcome.peers == [ann.local_peer_id()] and not welcome.rejoined
        assert not welcome.resumed
        for events in (ann_events, bob_events):
            media = events.wait_for("media", lambda e: e.is_PEER_MEDIA())
            assert media.frame_us == 2_500

        deadline = time.monotonic() + GUARD_SECONDS
        while min(decoded_from_peer(ann), decoded_from_peer(bob)) < HEARD_FRAMES:
            assert host.error is None, host.error
            assert time.monotonic() < deadline, "the tones did not arrive"
            time.sleep(0.1)
        stats = ann.statistics()
        assert stats.blocks > 0 and stats.peers[0].peer_id == bob_id
        assert stats.peers[0].state == tutti.LinkState.CONNECTED
        assert stats.local_latency.codec_frame_ms == pytest.approx(2.5)
        ann_events.wait_for("statistics", lambda e: e.is_STATS() and e.peers)
    finally:
        host.stop()
    assert host.error is None, host.error
    assert_hears(host.recording(0), 660.0, 440.0)  # Ann hears Bob
    assert_hears(host.recording(1), 440.0, 660.0)  # Bob hears Ann

    bob.leave()
    ann_events.wait_for("bob to leave", lambda e: e.is_PEER_LEFT() and e.peer_id == bob_id)
    bob_events.wait_for("bob's session to end", lambda e: e.is_ENDED())
    ann.leave()
    assert not ann.is_joined()


def test_errors_surface_as_exceptions(tutti, server):
    with pytest.raises(tutti.TuttiError.InvalidArgument):
        tutti.TuttiClient(tutti.EngineSettings(channels=3), None)

    client = tutti.TuttiClient(settings(tutti), None)
    with pytest.raises(tutti.TuttiError.Refused) as refused:
        asyncio.run(client.join(server.url, "no-such-room", tutti.Identity.ANONYMOUS("eve"),
                                loopback(tutti)))
    assert refused.value.code == "room_not_found"
    with pytest.raises(tutti.TuttiError.InvalidArgument):
        asyncio.run(client.join(server.url, "not a room id!", tutti.Identity.ANONYMOUS("eve"),
                                loopback(tutti)))
    with pytest.raises(tutti.TuttiError.WrongState):
        client.leave()
    with pytest.raises(tutti.TuttiError.InvalidArgument):
        client.process([0.0] * (BLOCK + 1))
    assert len(client.process([0.0] * BLOCK)) == 2 * BLOCK
    assert tutti.version()
