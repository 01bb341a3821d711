// The UniFFI Kotlin API of ChatClient against a real natter-server (spec §2, §3).
package dev.natter.test

import dev.natter.ChatEvent
import dev.natter.ChatException
import dev.natter.ChatListener
import dev.natter.KickType
import dev.natter.NetState
import dev.natter.Platform
import dev.natter.eventName
import dev.natter.kickTypeValue
import dev.natter.netStateValue
import kotlin.math.abs
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

class ClientTest : NatterTest() {
    @Test
    fun loginResolvesThenSdkReadyAndGettersShowTheSession() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl)
        assertFalse(c.isReady())
        assertEquals("", c.loginUser())
        assertTrue(abs(c.serverTimeMs() - System.currentTimeMillis()) < 1_000, "local clock before login")

        val result = c.login("alice", sig("alice"))
        assertFalse(result.repeatLogin)
        assertEquals(null, result.errorInfo)
        // The getters already show the session when the call returns; SDK_READY follows.
        assertTrue(c.isReady())
        assertEquals("alice", c.loginUser())
        assertEquals(
            show(listOf(net(NetState.CONNECTING), net(NetState.CONNECTED))),
            show(events.until(ChatEvent.SdkReady)),
        )
        assertTrue(c.instanceId().isNotEmpty())
    }

    @Test
    fun repeatLoginResolvesWithRepeatLoginAndChangesNothing() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl)
        c.loginReady("alice", events)
        for (user in listOf("alice", "bob")) {
            val r = c.login(user, sig(user))
            assertTrue(r.repeatLogin)
            assertTrue(r.errorInfo!!.contains("alice"), r.errorInfo)
        }
        assertEquals("alice", c.loginUser())
        assertTrue(c.isReady())
        // Nothing was emitted: the next event is the one logout causes.
        c.logout()
        assertEquals(show(ChatEvent.SdkNotReady), show(events.next()))
    }

    @Test
    fun logoutEmitsNotReadyClearsStateAndAllowsANewLogin() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl)
        c.loginReady("alice", events)
        c.logout()
        assertFalse(c.isReady())
        assertEquals("", c.loginUser())
        events.expect(ChatEvent.SdkNotReady, net(NetState.DISCONNECTED))

        c.loginReady("bob", events)
        assertTrue(c.isReady())
        assertEquals("bob", c.loginUser())
        c.logout()
        assertEquals(2024, codeOf { c.logout() })
    }

    @Test
    fun destroyLogsOutEmitsSdkDestroyAndLaterCallsFail() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl, Platform.ANDROID)
        c.loginReady("alice", events)
        c.destroyClient()
        assertEquals(
            show(listOf(ChatEvent.SdkNotReady, net(NetState.DISCONNECTED))),
            show(events.until(ChatEvent.SdkDestroy)),
        )
        assertFalse(c.isReady())
        assertEquals("", c.loginUser())
        val e = try {
            c.login("alice", sig("alice"))
            fail("login after destroy must fail")
        } catch (e: ChatException.Destroyed) {
            e
        }
        assertEquals(9002, e.code)
        assertEquals(9002, codeOf { c.logout() })
        c.destroyClient() // a second destroy is harmless
        events.assertQuiet()
    }

    @Test
    fun destroyBeforeLoginResolvesAndEmitsOnlySdkDestroy() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl)
        c.destroyClient()
        events.expect(ChatEvent.SdkDestroy)
        events.assertQuiet()
    }

    @Test
    fun serverTimeFollowsAnOffsetServerClock() = runBlocking<Unit> {
        val skewMs = 3 * 3600 * 1000L
        val server = server("--clock-skew-ms", skewMs.toString())
        val (c, events) = recorded(server.wsUrl)
        // The sig must be valid on the server's (skewed) clock.
        c.loginReady("alice", events, sig("alice", "--clock-skew-ms", skewMs.toString()))
        repeat(5) {
            val before = System.currentTimeMillis()
            val t = c.serverTimeMs()
            val after = System.currentTimeMillis()
            // Same machine: the only error is the offset's RTT/2 estimate (spec: RTT/2 + 5 ms).
            assertTrue(t >= before + skewMs - 50 && t <= after + skewMs + 50, "server time $t vs local $before + $skewMs")
        }
    }

    @Test
    fun eventsArriveOnRustThreadsInOrderWithoutLoss() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl)
        val cycles = 15
        val sigs = (0 until cycles).map { sig("user$it") }
        for (i in 0 until cycles) {
            c.login("user$i", sigs[i])
            c.logout()
        }
        val cycle = listOf(
            net(NetState.CONNECTING), net(NetState.CONNECTED), ChatEvent.SdkReady,
            ChatEvent.SdkNotReady, net(NetState.DISCONNECTED),
        )
        val expected = (0 until cycles).flatMap { cycle }
        val got = (expected.indices).map { events.nextDelivery() }
        assertEquals(show(expected), show(got.map { it.event }))
        val test = Thread.currentThread().name
        for (d in got) {
            assertEquals("natter-rt", d.nativeThread, "event ${show(d.event)} arrived on ${d.thread}")
            assertTrue(d.thread != test)
        }
        events.assertQuiet()
    }

    @Test
    fun eventNamesAreTheReferenceValues() {
        assertEquals("sdkStateReady", eventName(ChatEvent.SdkReady))
        assertEquals("sdkStateNotReady", eventName(ChatEvent.SdkNotReady))
        assertEquals("kickedOut", eventName(ChatEvent.KickedOut(KickType.REST_API)))
        assertEquals("netStateChange", eventName(ChatEvent.NetStateChange(NetState.CONNECTED)))
        assertEquals("error", eventName(ChatEvent.Error(2800, "x")))
        assertEquals("sdkDestroy", eventName(ChatEvent.SdkDestroy))
        assertEquals(
            listOf("multipleAccount", "multipleDevice", "userSigExpired", "REST_API_Kick"),
            KickType.entries.map(::kickTypeValue),
        )
        assertEquals(listOf("connected", "connecting", "disconnected"), NetState.entries.map(::netStateValue))
    }

    @Test
    fun aThrowingListenerBreaksNeitherTheClientNorOtherListeners() = runBlocking<Unit> {
        val server = server()
        val c = client(server.wsUrl)
        val thrown = java.util.concurrent.atomic.AtomicInteger()
        c.addListener(object : ChatListener {
            override fun onEvent(event: ChatEvent) {
                thrown.incrementAndGet()
                throw IllegalStateException("listener bug")
            }
        })
        val events = Recorder()
        c.addListener(events)
        c.loginReady("alice", events)
        c.logout()
        events.expect(ChatEvent.SdkNotReady, net(NetState.DISCONNECTED))
        c.loginReady("alice", events)
        assertTrue(c.isReady())
        assertEquals(8, thrown.get())
    }

    @Test
    fun sameListenerTwiceIsCalledTwiceAndRemoveStopsIt() = runBlocking<Unit> {
        val server = server()
        val c = client(server.wsUrl)
        val twice = Recorder()
        val first = c.addListener(twice)
        val second = c.addListener(twice)
        assertTrue(first != second)
        c.login("alice", sig("alice"))
        twice.expect(
            net(NetState.CONNECTING), net(NetState.CONNECTING),
            net(NetState.CONNECTED), net(NetState.CONNECTED),
            ChatEvent.SdkReady, ChatEvent.SdkReady,
        )
        assertTrue(c.removeListener(first))
        assertTrue(c.removeListener(second))
        assertFalse(c.removeListener(second))
        // Listeners run in registration order, so once `later` saw the event, `twice` would have too.
        val later = Recorder()
        c.addListener(later)
        c.logout()
        later.expect(ChatEvent.SdkNotReady)
        assertEquals(0, twice.deliveries.size)
    }

    @Test
    fun aHundredClientsInOneJvm() = runBlocking<Unit> {
        val server = server()
        val n = 100
        val sigs = (0 until n).map { sig("crowd$it") }
        val clients = (0 until n).map { recorded(server.wsUrl, Platform.ANDROID) }
        clients.mapIndexed { i, (c, _) -> async(Dispatchers.Default) { c.login("crowd$i", sigs[i]) } }.awaitAll()
        clients.forEachIndexed { i, (c, events) ->
            assertEquals(show(ChatEvent.SdkReady), show(events.nextNonNet()))
            assertTrue(c.isReady())
            assertEquals("crowd$i", c.loginUser())
        }
        assertEquals(n, clients.map { it.first.instanceId() }.toSet().size)
        clients.map { (c, _) -> async(Dispatchers.Default) { c.destroyClient() } }.awaitAll()
        for ((_, events) in clients) {
            assertEquals(
                show(listOf(ChatEvent.SdkNotReady, net(NetState.DISCONNECTED))),
                show(events.until(ChatEvent.SdkDestroy)),
            )
        }
    }
}
