// The React Native bridge logic (android/.../NatterBridge.kt) on the JVM, against a real server:
// what NatterModule.kt hands to JS (promises, coded errors, tagged events) without RN itself.
package dev.natter.test

import dev.natter.reactnative.BridgePromise
import dev.natter.reactnative.EventGate
import dev.natter.reactnative.EventSink
import dev.natter.reactnative.NatterBridge
import dev.natter.reactnative.NatterBridgeException
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlin.test.fail
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Test

sealed class Outcome {
    data class Resolved(val data: Map<String, Any?>?) : Outcome()
    data class Rejected(val code: Int, val message: String) : Outcome()
}

/** A JS promise stand-in. */
class TestPromise : BridgePromise {
    private val outcome = CompletableFuture<Outcome>()
    override fun resolve(data: Map<String, Any?>?) {
        check(outcome.complete(Outcome.Resolved(data))) { "settled twice" }
    }

    override fun reject(code: Int, message: String) {
        check(outcome.complete(Outcome.Rejected(code, message))) { "settled twice" }
    }

    fun await(): Outcome = outcome.get(WAIT_MS, TimeUnit.MILLISECONDS)

    fun resolved(): Map<String, Any?>? = when (val o = await()) {
        is Outcome.Resolved -> o.data
        is Outcome.Rejected -> fail("rejected: [${o.code}] ${o.message}")
    }

    fun rejectedCode(): Int = when (val o = await()) {
        is Outcome.Rejected -> o.code.also { assertTrue(o.message.isNotEmpty()) }
        is Outcome.Resolved -> fail("resolved with ${o.data}")
    }
}

data class Emitted(val instanceId: String, val name: String, val data: Map<String, Any?>, val thread: String)

/** The JS side of `onNatterEvent`. */
class JsSink : EventSink {
    val queue = LinkedBlockingQueue<Emitted>()
    override fun emit(instanceId: String, name: String, data: Map<String, Any?>) {
        queue.put(Emitted(instanceId, name, data, Thread.currentThread().name))
    }

    fun next(): Emitted = queue.poll(WAIT_MS, TimeUnit.MILLISECONDS) ?: fail("no event within $WAIT_MS ms")

    /** Next events as (instanceId, name, data). */
    fun expect(vararg expected: Triple<String, String, Map<String, Any?>>) {
        for (e in expected) {
            val got = next()
            assertEquals(e, Triple(got.instanceId, got.name, got.data))
            assertEquals("natter-events", got.thread)
        }
    }
}

private fun ev(id: String, name: String, data: Map<String, Any?> = emptyMap()) = Triple(id, name, data)
private fun netEv(id: String, state: String) = ev(id, "netStateChange", mapOf("state" to state))

class BridgeTest : NatterTest() {
    private val bridges = mutableListOf<NatterBridge>()

    private fun bridge(sink: EventSink? = JsSink()) = NatterBridge().also { b ->
        bridges += b
        if (sink != null) b.events.attach(sink)
    }

    private fun options(url: String, platform: String = "web"): Map<String, Any?> =
        // JS numbers arrive as Double through ReadableMap.toHashMap().
        mapOf("sdkAppId" to DEV_APP.toDouble(), "serverUrl" to url, "platform" to platform)

    private fun NatterBridge.loginOk(id: String, user: String) {
        val p = TestPromise()
        login(id, user, sig(user), p)
        assertEquals(mapOf("repeatLogin" to false, "errorInfo" to null), p.resolved())
    }

    private fun readySequence(id: String) =
        arrayOf(netEv(id, "connecting"), netEv(id, "connected"), ev(id, "sdkStateReady"))

    @AfterEach
    fun closeBridges() {
        bridges.forEach { it.close() }
        bridges.clear()
    }

    @Test
    fun loginLogoutDestroyMapToPromisesAndTaggedEvents() {
        val server = server()
        val sink = JsSink()
        val b = bridge(sink)
        val id = b.createInstance(options(server.wsUrl))
        assertFalse(b.isReady(id))
        assertEquals("", b.getLoginUser(id))

        b.loginOk(id, "alice")
        assertTrue(b.isReady(id))
        assertEquals("alice", b.getLoginUser(id))
        assertTrue(kotlin.math.abs(b.getServerTime(id) - System.currentTimeMillis()) < 1_000)
        sink.expect(*readySequence(id))

        val repeat = TestPromise()
        b.login(id, "bob", sig("bob"), repeat)
        val data = repeat.resolved()!!
        assertEquals(true, data["repeatLogin"])
        assertTrue((data["errorInfo"] as String).contains("alice"))

        val logout = TestPromise()
        b.logout(id, logout)
        assertEquals(null, logout.resolved())
        sink.expect(ev(id, "sdkStateNotReady"), netEv(id, "disconnected"))

        val destroy = TestPromise()
        b.destroy(id, destroy)
        assertEquals(null, destroy.resolved())
        // SDK_DESTROY {SDKAppID} was emitted before the promise resolved (its last event).
        sink.expect(ev(id, "sdkDestroy", mapOf("SDKAppID" to DEV_APP)))
        assertFalse(b.isReady(id))
        assertEquals("", b.getLoginUser(id))

        val after = TestPromise()
        b.login(id, "alice", sig("alice"), after)
        assertEquals(9002, after.rejectedCode())
        val again = TestPromise()
        b.destroy(id, again)
        assertEquals(null, again.resolved())
    }

    @Test
    fun createInstanceThrowsCodedErrorsForBadOptions() {
        val b = bridge()
        fun code(options: Map<String, Any?>): Int = try {
            b.createInstance(options)
            fail("createInstance($options) must throw")
        } catch (e: NatterBridgeException) {
            assertTrue(e.message.isNotEmpty())
            e.code
        }
        val ok = options("ws://127.0.0.1:1/ws")
        assertEquals(2000, code(ok - "sdkAppId"))
        assertEquals(2000, code(ok + ("sdkAppId" to 0.0)))
        assertEquals(2000, code(ok + ("sdkAppId" to "1400000001")))
        assertEquals(9001, code(ok - "serverUrl"))
        assertEquals(9001, code(ok + ("serverUrl" to "http://127.0.0.1:1/ws")))
        assertEquals(9001, code(ok + ("platform" to "symbian")))
        assertEquals(9001, code(ok + ("heartbeatIntervalMs" to -5.0)))
        assertEquals(9001, code(ok + ("loginTimeoutMs" to Double.NaN)))
        assertEquals(9001, try {
            b.setLogLevel(9)
            fail("setLogLevel(9) must throw")
        } catch (e: NatterBridgeException) {
            e.code
        })
        assertEquals(0, b.instanceCount)
        // Every platform name of the contract is accepted.
        for (p in listOf("web", "android", "ios", "ipad", "windows", "mac", "linux")) {
            b.createInstance(options("ws://127.0.0.1:1/ws", p))
        }
        assertEquals(7, b.instanceCount)
    }

    @Test
    fun loginErrorsRejectWithTheirCodes() {
        val server = server()
        val b = bridge()
        val id = b.createInstance(options(server.wsUrl))
        fun login(user: String, userSig: String) = TestPromise().also { b.login(id, user, userSig, it) }.rejectedCode()
        assertEquals(2002, login("", sig("alice")))
        assertEquals(2003, login("alice", ""))
        assertEquals(70003, login("alice", "not-a-usersig"))
        assertEquals(70013, login("alice", sig("bob")))
        assertEquals(2024, TestPromise().also { b.logout(id, it) }.rejectedCode())
        assertEquals(9002, TestPromise().also { b.login("no-such-id", "alice", sig("alice"), it) }.rejectedCode())
        assertEquals(9002, TestPromise().also { b.logout("no-such-id", it) }.rejectedCode())
        val refused = b.createInstance(options("ws://127.0.0.1:${java.net.ServerSocket(0).use { it.localPort }}/ws"))
        assertEquals(2800, TestPromise().also { b.login(refused, "alice", sig("alice"), it) }.rejectedCode())
    }

    @Test
    fun kickEventsCarryTheReferenceTypeAndInstanceIds() {
        val server = server()
        val sink = JsSink()
        val b = bridge(sink)
        val older = b.createInstance(options(server.wsUrl, "web"))
        val newer = b.createInstance(options(server.wsUrl, "web"))
        assertTrue(older != newer)
        b.loginOk(older, "alice")
        sink.expect(*readySequence(older))
        b.loginOk(newer, "alice")
        // The two instances' events interleave: check each instance's own sequence.
        val got = (1..6).map { sink.next() }
        assertEquals(
            listOf(*readySequence(newer)),
            got.filter { it.instanceId == newer }.map { Triple(it.instanceId, it.name, it.data) },
        )
        assertEquals(
            listOf(
                ev(older, "kickedOut", mapOf("type" to "multipleAccount")),
                ev(older, "sdkStateNotReady"),
                netEv(older, "disconnected"),
            ),
            got.filter { it.instanceId == older }.map { Triple(it.instanceId, it.name, it.data) },
        )
        assertFalse(b.isReady(older))
        assertTrue(b.isReady(newer))

        server.restKick("alice")
        sink.expect(
            ev(newer, "kickedOut", mapOf("type" to "REST_API_Kick")),
            ev(newer, "sdkStateNotReady"),
            netEv(newer, "disconnected"),
        )
        assertFalse(b.isReady(newer))
    }

    @Test
    fun eventsRaisedBeforeJsIsAttachedAreQueuedThenFlushedInOrder() {
        val server = server()
        val b = bridge(sink = null) // JS has not looked the module up yet
        val id = b.createInstance(options(server.wsUrl))
        b.loginOk(id, "alice")
        val logout = TestPromise()
        b.logout(id, logout)
        assertEquals(null, logout.resolved())
        assertTrue(b.events.flush())

        val sink = JsSink()
        b.events.attach(sink)
        sink.expect(*readySequence(id), ev(id, "sdkStateNotReady"), netEv(id, "disconnected"))

        // Detached again (e.g. a JS reload): events queue until the next attach.
        b.events.detach()
        b.loginOk(id, "alice")
        assertTrue(b.events.flush())
        assertEquals(0, sink.queue.size)
        val second = JsSink()
        b.events.attach(second)
        second.expect(*readySequence(id))
        assertEquals(0, sink.queue.size)
    }

    @Test
    fun eventGateKeepsOrderAcrossThreadsAndSurvivesAFailingSink() {
        val gate = EventGate()
        try {
            val producers = 8
            val perProducer = 500
            val received = LinkedBlockingQueue<Emitted>()
            val inside = AtomicBoolean(false)
            val overlaps = AtomicInteger()
            val calls = AtomicInteger()
            gate.attach { id, name, data ->
                if (!inside.compareAndSet(false, true)) overlaps.incrementAndGet()
                try {
                    received.put(Emitted(id, name, data, Thread.currentThread().name))
                    if (calls.incrementAndGet() % 7 == 0) throw IllegalStateException("JS threw")
                } finally {
                    inside.set(false)
                }
            }
            val start = CountDownLatch(1)
            val threads = (0 until producers).map { p ->
                thread(name = "producer-$p") {
                    start.await()
                    for (i in 0 until perProducer) gate.emit("instance-$p", "seq", mapOf("i" to i))
                }
            }
            start.countDown()
            threads.forEach { it.join(WAIT_MS) }
            assertTrue(gate.flush())
            val all = received.toList()
            assertEquals(producers * perProducer, all.size)
            assertEquals(0, overlaps.get(), "the sink was called concurrently")
            assertTrue(all.all { it.thread == "natter-events" })
            for (p in 0 until producers) {
                assertEquals((0 until perProducer).toList(), all.filter { it.instanceId == "instance-$p" }.map { it.data["i"] })
            }
        } finally {
            gate.close()
        }
    }

    @Test
    fun closeDestroysEveryInstance() {
        val server = server()
        val sink = JsSink()
        val b = NatterBridge()
        b.events.attach(sink)
        val ids = listOf("web", "android", "ios").map { b.createInstance(options(server.wsUrl, it)) }
        b.loginOk(ids[0], "alice")
        b.loginOk(ids[1], "alice")
        b.close()
        val byInstance = sink.queue.toList().groupBy({ it.instanceId }, { it.name })
        for ((i, id) in ids.withIndex()) {
            val names = byInstance[id] ?: emptyList()
            assertEquals("sdkDestroy", names.lastOrNull(), "instance $i: $names")
            assertEquals(1, names.count { it == "sdkDestroy" })
            if (i < 2) assertTrue("sdkStateNotReady" in names, "instance $i logged out first: $names")
        }
        // The server sees nobody online: a new login of alice on web kicks nobody.
        val (c, events) = recorded(server.wsUrl, dev.natter.Platform.WEB)
        kotlinx.coroutines.runBlocking { c.loginReady("alice", events) }
        events.assertQuiet()
    }
}
