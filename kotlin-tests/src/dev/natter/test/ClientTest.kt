// The public UniFFI Kotlin API of ChatClient against a real natter-server (spec §2, §3): calls
// settle in the reference order relative to their events, which arrive on Natter's threads.
package dev.natter.test

import dev.natter.ChatEvent
import dev.natter.ChatException
import dev.natter.ChatListener
import dev.natter.NetState
import dev.natter.Platform
import kotlin.math.abs
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlin.test.fail
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
    fun logoutEmitsNotReadyClearsStateAndAllowsANewLogin() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl)
        c.loginReady("alice", events)
        c.logout()
        assertFalse(c.isReady())
        assertEquals("", c.loginUser())
        // logout resolves only after its events were delivered: they are there without waiting.
        assertEquals(show(ChatEvent.SdkNotReady), show(events.next(0)))
        assertEquals(show(net(NetState.DISCONNECTED)), show(events.next(0)))

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
        // destroy resolves only after SDK_DESTROY was delivered.
        assertEquals(
            show(listOf(ChatEvent.SdkNotReady, net(NetState.DISCONNECTED), ChatEvent.SdkDestroy)),
            show((1..3).map { events.next(0) }),
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

}
