// Test support: real natter-server child processes, an event recorder, a black-hole TCP server.
// No sleeps anywhere: every wait is a poll on a queue with a timeout.
package dev.natter.test

import dev.natter.ChatClient
import dev.natter.ChatConfig
import dev.natter.ChatEvent
import dev.natter.ChatException
import dev.natter.ChatListener
import dev.natter.NetReason
import dev.natter.NetState
import dev.natter.Platform
import java.io.File
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.fail
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach

const val DEV_APP = 1400000001L
const val ADMIN = "administrator"

/** How long any single expected event may take. Generous: CI machines are slow. */
const val WAIT_MS = 15_000L

/** How long we watch for an event that must NOT come. */
const val QUIET_MS = 400L

val serverBinary: String = System.getProperty("natter.server") ?: "target/debug/natter-server"

/** A `natter-server` child process listening on an ephemeral port. */
class NatterServer private constructor(private val process: Process, val wsUrl: String) : AutoCloseable {
    val httpBase: String = URI(wsUrl).let { "http://${it.host}:${it.port}" }

    /** The admin REST API kick of every instance of [user]; returns the response body. */
    fun restKick(user: String): String = rest("/v4/im_open_login_svc/kick", """{"UserID":"$user"}""")

    /** `Online` or `Offline`: the server's view of [user] (admin REST API `query_online_status`). */
    fun onlineStatus(user: String): String {
        val body = rest("/v4/openim/query_online_status", """{"To_Account":["$user"]}""")
        return Regex(""""Status"\s*:\s*"(Online|Offline)"""").find(body)?.groupValues?.get(1)
            ?: fail("no Status in $body")
    }

    /** POSTs [json] to the admin REST API as the dev admin; returns the response body. */
    private val adminSig by lazy { userSig(ADMIN) }

    // One client, so polls reuse one kept-alive connection instead of opening one each.
    private val http = HttpClient.newHttpClient()

    private fun rest(path: String, json: String): String {
        val sig = adminSig
        val uri = URI("$httpBase$path?sdkappid=$DEV_APP&identifier=$ADMIN&usersig=$sig&random=1&contenttype=json")
        val req = HttpRequest.newBuilder(uri)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build()
        val resp = http.send(req, HttpResponse.BodyHandlers.ofString())
        assertEquals(200, resp.statusCode(), resp.body())
        return resp.body()
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }

    companion object {
        /** Starts a server with extra CLI flags, and waits for its banner's WebSocket URL. */
        fun start(vararg flags: String): NatterServer {
            val pb = ProcessBuilder(listOf(serverBinary, "--listen", "127.0.0.1:0") + flags)
            pb.redirectError(
                if (System.getenv("NATTER_TEST_SERVER_LOGS") != null) ProcessBuilder.Redirect.INHERIT
                else ProcessBuilder.Redirect.DISCARD,
            )
            val process = pb.start()
            val lines = LinkedBlockingQueue<String>()
            thread(isDaemon = true, name = "natter-server-stdout") {
                process.inputStream.bufferedReader().forEachLine { lines.put(it) }
            }
            val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS)
            val pattern = Regex("""^\s*WebSocket:\s+(ws://\S+)""")
            while (true) {
                val left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())
                val line = if (left > 0) lines.poll(left, TimeUnit.MILLISECONDS) else null
                if (line == null) {
                    process.destroyForcibly()
                    fail("natter-server printed no WebSocket URL within $WAIT_MS ms (flags: ${flags.toList()})")
                }
                pattern.find(line)?.let { return NatterServer(process, it.groupValues[1]) }
            }
        }

        /** Starts a server with a TOML config file (keys as natter-server's `--config`). */
        fun startWithConfig(toml: String, vararg flags: String): NatterServer {
            val file = File.createTempFile("natter-server-", ".toml")
            file.deleteOnExit()
            file.writeText(toml)
            return start("--config", file.path, *flags)
        }

        /** `natter-server usersig --user USER [flags]`: a UserSig of the dev app (by default). */
        fun userSig(user: String, vararg flags: String): String {
            val process = ProcessBuilder(listOf(serverBinary, "usersig", "--user", user) + flags)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start()
            val out = process.inputStream.bufferedReader().readText().trim()
            if (!process.waitFor(WAIT_MS, TimeUnit.MILLISECONDS) || process.exitValue() != 0 || out.isEmpty()) {
                fail("natter-server usersig --user $user ${flags.toList()} failed")
            }
            return out
        }
    }
}

/** A TCP server that accepts connections and never answers: logins to it stay in flight. */
class BlackHole : AutoCloseable {
    private val socket = ServerSocket(0)
    private val accepted = java.util.concurrent.CopyOnWriteArrayList<Socket>()
    val url = "ws://127.0.0.1:${socket.localPort}/ws"

    init {
        thread(isDaemon = true, name = "black-hole") {
            try {
                while (true) accepted += socket.accept()
            } catch (_: Exception) {
            }
        }
    }

    override fun close() {
        socket.close()
        accepted.forEach { runCatching { it.close() } }
    }
}

/**
 * The OS name of the calling thread (Linux). JNA attaches a Rust thread to the JVM under a made-up
 * Java name ("Thread-N"); the native name shows it is one of Natter's runtime threads.
 */
fun nativeThreadName(): String = runCatching { File("/proc/thread-self/comm").readText().trim() }.getOrDefault("?")

/** Records every event with the Java and native names of the thread it arrived on. */
class Recorder : ChatListener {
    data class Delivery(val event: ChatEvent, val thread: String, val nativeThread: String)

    val deliveries = LinkedBlockingQueue<Delivery>()

    override fun onEvent(event: ChatEvent) {
        deliveries.put(Delivery(event, Thread.currentThread().name, nativeThreadName()))
    }

    fun nextDelivery(timeoutMs: Long = WAIT_MS): Delivery =
        deliveries.poll(timeoutMs, TimeUnit.MILLISECONDS) ?: fail("no event within $timeoutMs ms")

    fun next(timeoutMs: Long = WAIT_MS): ChatEvent = nextDelivery(timeoutMs).event

    fun expect(vararg expected: ChatEvent) {
        for (e in expected) assertEquals(show(e), show(next()))
    }

    /** The events before [target] (which is consumed). */
    fun until(target: ChatEvent): List<ChatEvent> {
        val before = mutableListOf<ChatEvent>()
        while (true) {
            val e = next()
            // By `show`: a net-state change matches by its state (reason and retry are extra).
            if (show(e) == show(target)) return before
            before += e
        }
    }

    /** The next event that is not a NetStateChange. */
    fun nextNonNet(): ChatEvent {
        while (true) {
            val e = next()
            if (e !is ChatEvent.NetStateChange) return e
        }
    }

    fun assertQuiet(ms: Long = QUIET_MS) {
        assertNull(deliveries.poll(ms, TimeUnit.MILLISECONDS)?.let { show(it.event) }, "unexpected event")
    }
}

/** Readable form of an event (the generated objects have no toString). */
fun show(e: ChatEvent): String = when (e) {
    is ChatEvent.KickedOut -> "KickedOut(${e.kickType})"
    is ChatEvent.NetStateChange -> "NetStateChange(${e.state})"
    is ChatEvent.Error -> "Error(${e.code}, ${e.message})"
    else -> e.javaClass.simpleName
}

fun show(events: List<ChatEvent>) = events.map(::show)

/** A net-state change to [state]; compared by [show], which leaves out `reason` and `retryInMs`. */
fun net(state: NetState): ChatEvent = ChatEvent.NetStateChange(state, NetReason.LINK_LOST, null)

/** Runs [block], which must throw a ChatException; returns its code. */
inline fun codeOf(block: () -> Unit): Int {
    try {
        block()
    } catch (e: ChatException) {
        return e.code()
    }
    fail("expected a ChatException")
}

/** Base of the test classes: creates servers and clients and always releases them. */
abstract class NatterTest {
    private val servers = mutableListOf<AutoCloseable>()
    private val clients = mutableListOf<ChatClient>()

    fun server(vararg flags: String) = NatterServer.start(*flags).also { servers += it }

    fun serverWithConfig(toml: String, vararg flags: String) =
        NatterServer.startWithConfig(toml, *flags).also { servers += it }

    fun blackHole() = BlackHole().also { servers += it }

    fun sig(user: String, vararg flags: String) = NatterServer.userSig(user, *flags)

    fun client(url: String, platform: Platform = Platform.WEB, sdkAppId: Long = DEV_APP, loginTimeoutMs: ULong? = null) =
        ChatClient(
            ChatConfig(sdkAppId = sdkAppId.toULong(), serverUrl = url, platform = platform, loginTimeoutMs = loginTimeoutMs),
        ).also { clients += it }

    /** A client with a recorder attached. */
    fun recorded(url: String, platform: Platform = Platform.WEB): Pair<ChatClient, Recorder> {
        val c = client(url, platform)
        val r = Recorder()
        c.addListener(r)
        return c to r
    }

    /** Logs in and waits for SDK_READY (after connecting/connected). */
    suspend fun ChatClient.loginReady(user: String, recorder: Recorder, userSig: String = sig(user)) {
        val r = login(user, userSig)
        assertEquals(false, r.repeatLogin)
        assertEquals(
            show(listOf(net(NetState.CONNECTING), net(NetState.CONNECTED))),
            show(recorder.until(ChatEvent.SdkReady)),
        )
    }

    @AfterEach
    fun releaseAll() {
        runBlocking {
            for (c in clients) runCatching { c.destroyClient() }
        }
        clients.forEach { it.close() }
        clients.clear()
        servers.forEach { runCatching { it.close() } }
        servers.clear()
    }
}
