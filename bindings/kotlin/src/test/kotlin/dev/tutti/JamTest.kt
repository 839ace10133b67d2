package dev.tutti

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import kotlin.math.sqrt

/**
 * The Kotlin bindings against a real tutti-server: two clients in one JVM join a room over
 * loopback WebRTC, each sends a tone and hears the other's; events reach a Kotlin listener;
 * errors surface as exceptions.
 */
class JamTest {
    private val rate = 48_000
    private val block = 480 // 10 ms per `process` call
    private val heardFrames = 800uL // 2 s of 2.5 ms frames from the peer before we listen
    private val server = Server(Server.tempDir())

    @AfterEach
    fun stopServer() = server.close()

    private fun settings() = EngineSettings(sampleRate = rate.toUInt(), maxBlockFrames = block.toUInt(), channels = 1u)
    private fun loopback() = JoinSettings(udpBind = listOf("127.0.0.1:0"), statsIntervalMs = 250uL)
    private fun decodedFromPeer(c: TuttiClient) = c.statistics().peers.firstOrNull()?.framesDecoded ?: 0uL

    private fun assertHears(who: String, recording: List<Float>, expected: Double, other: Double) {
        val tail = recording.takeLast(rate)
        val pExpected = goertzelPower(tail, expected, rate)
        val pOther = goertzelPower(tail, other, rate)
        val pBetween = goertzelPower(tail, (expected + other) / 2, rate)
        val rms = sqrt(tail.sumOf { it.toDouble() * it } / tail.size)
        assertTrue(rms > 0.01, "$who hears silence (RMS $rms)")
        assertTrue(pExpected > 20 * pOther, "$who: $expected Hz $pExpected vs $other Hz $pOther")
        assertTrue(pExpected > 20 * pBetween, "$who: $expected Hz $pExpected vs noise $pBetween")
    }

    @Test
    fun `two clients hear each other's tone and see each other join`() {
        val token = server.signUp("ann@example.org")
        val room = server.createRoom(token, "kotlin duo")
        val (annEvents, bobEvents) = Recorder() to Recorder()
        val ann = TuttiClient(settings(), annEvents)
        val bob = TuttiClient(settings(), bobEvents)
        val host = PacedHost(listOf(ann to 440.0, bob to 660.0), rate, block)
        host.use {
            runBlocking {
                ann.join(server.url, room, Identity.Token(token), loopback())
                bob.join(server.url, room, Identity.Anonymous("bob"), loopback())
            }
            assertTrue(ann.isJoined() && bob.isJoined())
            val bobId = bob.localPeerId()

            val joined = annEvents.waitFor("bob to join") { it as? SessionEvent.PeerJoined }
            assertEquals(bobId, joined.peerId)
            assertEquals("bob", joined.displayName)
            val welcome = bobEvents.waitFor("bob's welcome") { it as? SessionEvent.Joined }
            assertEquals(listOf(ann.localPeerId()), welcome.peers)
            for (events in listOf(annEvents, bobEvents)) {
                val media = events.waitFor("media") { it as? SessionEvent.PeerMedia }
                assertEquals(2_500u, media.frameUs)
            }

            val deadline = System.currentTimeMillis() + GUARD_MS
            while (minOf(decodedFromPeer(ann), decodedFromPeer(bob)) < heardFrames) {
                assertNull(host.failure)
                assertTrue(System.currentTimeMillis() < deadline, "the tones did not arrive")
                Thread.sleep(100)
            }
            val stats = ann.statistics()
            assertEquals(bobId, stats.peers[0].peerId)
            assertEquals(LinkState.CONNECTED, stats.peers[0].state)
            assertEquals(2.5, stats.localLatency.codecFrameMs, 1e-9)
            annEvents.waitFor("statistics") { (it as? SessionEvent.Stats)?.takeIf { s -> s.peers.isNotEmpty() } }
        }
        assertNull(host.failure)
        assertHears("ann", host.recording(0), 660.0, 440.0)
        assertHears("bob", host.recording(1), 440.0, 660.0)

        val bobId = bob.localPeerId()
        bob.leave()
        annEvents.waitFor("bob to leave") { (it as? SessionEvent.PeerLeft)?.takeIf { e -> e.peerId == bobId } }
        bobEvents.waitFor("bob's session to end") { it as? SessionEvent.Ended }
        ann.leave()
        assertFalse(ann.isJoined())
        bob.close()
        ann.close()
    }

    @Test
    fun `errors surface as exceptions`() {
        assertThrows<TuttiException.InvalidArgument> { TuttiClient(EngineSettings(channels = 3u), null) }
        TuttiClient(settings(), null).use { client ->
            val refused = assertThrows<TuttiException.Refused> {
                runBlocking { client.join(server.url, "no-such-room", Identity.Anonymous("eve"), loopback()) }
            }
            assertEquals("room_not_found", refused.code)
            assertThrows<TuttiException.InvalidArgument> {
                runBlocking { client.join(server.url, "not a room id!", Identity.Anonymous("eve"), loopback()) }
            }
            assertThrows<TuttiException.WrongState> { client.leave() }
            assertThrows<TuttiException.InvalidArgument> { client.process(List(block + 1) { 0f }) }
            assertEquals(2 * block, client.process(List(block) { 0f }).size)
            assertTrue(version().isNotEmpty())
        }
    }
}
