package dev.tutti

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.math.PI
import kotlin.math.cos
import kotlin.math.sin

/** Any single wait; generous, the CI machine is shared with other builds. */
const val GUARD_MS = 90_000L

/** A tutti-server process on a free loopback port with its own SQLite database. */
class Server(dir: Path) : AutoCloseable {
    private val process: Process
    val url: String
    private val http = HttpClient.newHttpClient()

    init {
        val binary = System.getProperty("tutti.server") ?: error("tutti.server is not set")
        val db = dir.resolve("tutti.db")
        process = ProcessBuilder(
            binary, "--bind", "127.0.0.1:0", "--demo-data", "false",
            "--allow-anonymous-signalling", "--database-url", "sqlite://$db",
        ).redirectError(ProcessBuilder.Redirect.INHERIT).also { it.environment()["RUST_LOG"] = "warn" }.start()
        val lines = process.inputStream.bufferedReader()
        val prefix = "tutti-server listening on "
        var found: String? = null
        while (found == null) {
            val line = lines.readLine() ?: error("tutti-server ended before listening")
            if (line.startsWith(prefix)) found = line.removePrefix(prefix).trim()
        }
        url = found
        // Keep draining stdout so the server never blocks on a full pipe.
        thread(isDaemon = true) { lines.forEachLine { } }
    }

    private fun post(path: String, body: String, token: String? = null): String {
        val request = HttpRequest.newBuilder(URI.create(url + path))
            .header("Content-Type", "application/json")
            .apply { if (token != null) header("Authorization", "Bearer $token") }
            .POST(HttpRequest.BodyPublishers.ofString(body)).build()
        val reply = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(reply.statusCode() < 400) { "POST $path: ${reply.statusCode()} ${reply.body()}" }
        return reply.body()
    }

    /** A string field of a flat JSON reply (enough for the two replies the tests read). */
    private fun field(json: String, name: String): String =
        Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1)
            ?: error("no $name in $json")

    fun signUp(email: String): String =
        field(post("/api/v1/auth/signup", """{"email":"$email","password":"correct horse battery"}"""), "access_token")

    fun createRoom(token: String, name: String): String =
        field(post("/api/v1/rooms", """{"name":"$name","visibility":"public","capacity":4}""", token), "id")

    override fun close() {
        process.destroyForcibly()
        process.waitFor(10, TimeUnit.SECONDS)
    }

    companion object {
        fun tempDir(): Path = Files.createTempDirectory("tutti-kotlin-test")
    }
}

/** A session listener implemented in Kotlin that keeps every event for the test to wait on. */
class Recorder : SessionListener {
    private val lock = Object()
    private val events = mutableListOf<SessionEvent>()

    override fun onEvent(event: SessionEvent) {
        synchronized(lock) {
            events.add(event)
            lock.notifyAll()
        }
    }

    fun <T : SessionEvent> waitFor(what: String, match: (SessionEvent) -> T?): T {
        val deadline = System.currentTimeMillis() + GUARD_MS
        synchronized(lock) {
            while (true) {
                events.firstNotNullOfOrNull(match)?.let { return it }
                val left = deadline - System.currentTimeMillis()
                check(left > 0) { "timed out waiting for $what; events: $events" }
                lock.wait(left)
            }
        }
    }
}

/**
 * Stands in for the sound cards of several clients: every `block` frames of real time it hands
 * each client one block of its sine tone and records the left channel of what comes back.
 * (`process` copies across the FFI and is not real-time safe; the engine copes with the jitter.)
 */
class PacedHost(private val parts: List<Pair<TuttiClient, Double>>, val rate: Int, val block: Int) : AutoCloseable {
    private val recordings = parts.map { ArrayList<Float>() }
    @Volatile private var running = true
    @Volatile var failure: Throwable? = null
    private val worker = thread(name = "paced-host") {
        val periodNs = block * 1_000_000_000L / rate
        var next = System.nanoTime()
        var n = 0L
        try {
            while (running) {
                parts.forEachIndexed { i, (client, freq) ->
                    val tone = List(block) { k -> (0.5 * sin(2 * PI * freq * (n + k) / rate)).toFloat() }
                    val out = client.process(tone)
                    synchronized(recordings[i]) { for (k in out.indices step 2) recordings[i].add(out[k]) }
                }
                n += block
                next += periodNs
                val sleep = next - System.nanoTime()
                if (sleep > 0) Thread.sleep(sleep / 1_000_000, (sleep % 1_000_000).toInt())
            }
        } catch (e: Throwable) {
            failure = e
        }
    }

    fun recording(index: Int): List<Float> = synchronized(recordings[index]) { recordings[index].toList() }

    override fun close() {
        running = false
        worker.join(GUARD_MS)
    }
}

/** Power of one frequency over the samples (the Goertzel recurrence). */
fun goertzelPower(samples: List<Float>, freq: Double, rate: Int): Double {
    val coeff = 2 * cos(2 * PI * freq / rate)
    var s1 = 0.0
    var s2 = 0.0
    for (x in samples) {
        val s0 = x + coeff * s1 - s2
        s2 = s1
        s1 = s0
    }
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / maxOf(1, samples.size)
}
