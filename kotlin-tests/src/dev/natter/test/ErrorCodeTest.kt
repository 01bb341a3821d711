// Every error code the Kotlin API can surface, each provoked for real (spec §2, §8; compat.md).
package dev.natter.test

import dev.natter.ChatClient
import dev.natter.ChatConfig
import dev.natter.ChatException
import dev.natter.NetState
import dev.natter.Platform
import dev.natter.debugPanic
import dev.natter.setLogLevel
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

class ErrorCodeTest : NatterTest() {
    private fun newClient(config: ChatConfig): Int = codeOf { ChatClient(config).close() }

    @Test
    fun code2000NoSdkAppId() {
        val e = try {
            ChatClient(ChatConfig(sdkAppId = 0uL, serverUrl = "ws://127.0.0.1:1/ws")).close()
            fail("SDKAppID 0 must be refused")
        } catch (e: ChatException.NoSdkAppId) {
            e
        }
        assertEquals(2000, e.code)
        assertTrue(e.detail.isNotEmpty())
    }

    /** The code and detail are read on the base type, whatever the variant (no `when` over all of them). */
    @Test
    fun baseTypeCarriesCodeAndDetail() = runBlocking<Unit> {
        fun caught(block: () -> Unit): ChatException {
            try {
                block()
            } catch (e: ChatException) {
                return e
            }
            fail("expected a ChatException")
        }
        val server = server()
        val c = client(server.wsUrl)
        val seen = listOf(
            caught { ChatClient(ChatConfig(sdkAppId = 0uL, serverUrl = "ws://127.0.0.1:1/ws")).close() },
            caught { ChatClient(ChatConfig(sdkAppId = DEV_APP.toULong(), serverUrl = "not a url")).close() },
            caught { runBlocking { c.login("", sig("alice")) } },
            caught { runBlocking { c.login("alice", "") } },
            caught { runBlocking { c.logout() } },
            caught { runBlocking { c.login("alice", "this-is-not-a-usersig") } },
            caught { runBlocking { debugPanic(false) } },
        )
        assertEquals(listOf(2000, 9001, 2002, 2003, 2024, 70003, 9003), seen.map { it.code() })
        // The base type's values are the variant's own fields.
        val fields = seen.map {
            when (it) {
                is ChatException.NoSdkAppId -> it.code to it.detail
                is ChatException.InvalidArgument -> it.code to it.detail
                is ChatException.NoUserId -> it.code to it.detail
                is ChatException.NoUserSig -> it.code to it.detail
                is ChatException.NotLoggedIn -> it.code to it.detail
                is ChatException.Server -> it.code to it.detail
                is ChatException.Internal -> it.code to it.detail
                else -> fail("unexpected variant ${it.javaClass.simpleName}")
            }
        }
        assertEquals(fields, seen.map { it.code() to it.detail() })
        assertTrue(seen.all { it.detail().isNotEmpty() })
    }

    @Test
    fun code9001InvalidOptionsFailFast() {
        val ok = ChatConfig(sdkAppId = DEV_APP.toULong(), serverUrl = "ws://127.0.0.1:1/ws")
        assertEquals(9001, newClient(ok.copy(serverUrl = "http://127.0.0.1:1/ws")))
        assertEquals(9001, newClient(ok.copy(serverUrl = "not a url")))
        assertEquals(9001, newClient(ok.copy(heartbeatIntervalMs = 0uL)))
        assertEquals(9001, newClient(ok.copy(requestTimeoutMs = 0uL)))
        assertEquals(9001, newClient(ok.copy(loginTimeoutMs = 0uL)))
        assertEquals(9001, codeOf { setLogLevel(5) })
        assertEquals(9001, codeOf { setLogLevel(-1) })
        setLogLevel(2)
    }

    @Test
    fun code2002And2003MissingUserIdOrSig() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl)
        assertEquals(2002, codeOf { c.login("", sig("alice")) })
        assertEquals(2003, codeOf { c.login("alice", "") })
        // Refused at once, without touching the network.
        events.assertQuiet()
        assertFalse(c.isReady())
    }

    @Test
    fun code2024LogoutWhenNotLoggedIn() = runBlocking<Unit> {
        val server = server()
        val (c, _) = recorded(server.wsUrl)
        val e = try {
            c.logout()
            fail("logout while logged out must fail")
        } catch (e: ChatException.NotLoggedIn) {
            e
        }
        assertEquals(2024, e.code)
    }

    @Test
    fun code2025SecondLoginWhileOneIsInFlight() = runBlocking<Unit> {
        // The black hole accepts the TCP connection and never answers: the first login stays in
        // flight for as long as we like, so the second one deterministically meets it.
        val hole = blackHole()
        val c = client(hole.url, loginTimeoutMs = 60_000uL)
        val events = Recorder()
        c.addListener(events)
        val first = async(Dispatchers.Default) { runCatching { c.login("alice", "sig") } }
        // The first login has started once the instance reports `connecting`.
        events.expect(net(NetState.CONNECTING))
        val e = try {
            c.login("alice", "sig")
            fail("a second login while one is in flight must fail")
        } catch (e: ChatException.LoginInProgress) {
            e
        }
        assertEquals(2025, e.code)
        // Destroying ends the first login too.
        c.destroyClient()
        val outcome = first.await()
        assertTrue(outcome.isFailure)
    }

    @Test
    fun code2800ConnectionRefused() = runBlocking<Unit> {
        val port = java.net.ServerSocket(0).use { it.localPort } // now closed: connections are refused
        val c = client("ws://127.0.0.1:$port/ws")
        val e = try {
            c.login("alice", sig("alice"))
            fail("login to a closed port must fail")
        } catch (e: ChatException.Network) {
            e
        }
        assertEquals(2800, e.code)
        assertFalse(c.isReady())
    }

    @Test
    fun code2801LoginTimeout() = runBlocking<Unit> {
        val hole = blackHole()
        val c = client(hole.url, loginTimeoutMs = 300uL)
        val started = System.nanoTime()
        val e = try {
            c.login("alice", "sig")
            fail("a login nobody answers must time out")
        } catch (e: ChatException.Timeout) {
            e
        }
        val tookMs = (System.nanoTime() - started) / 1_000_000
        assertEquals(2801, e.code)
        assertTrue(tookMs in 250..10_000, "timed out after $tookMs ms")
        assertFalse(c.isReady())
    }

    /** The server's code for one refused login, on a fresh server (so throttling never interferes). */
    private suspend fun refusal(user: String, userSig: String, sdkAppId: Long = DEV_APP): Int {
        val server = server()
        val c = client(server.wsUrl, sdkAppId = sdkAppId)
        return codeOf { c.login(user, userSig) }.also { assertFalse(c.isReady()) }
    }

    @Test
    fun serverCodesForBadUserSigs() = runBlocking<Unit> {
        // Expired: issued 20 s ago for 10 s.
        assertEquals(70001, refusal("alice", sig("alice", "--clock-skew-ms", "-20000", "--expire", "10")))
        assertEquals(70003, refusal("alice", "this-is-not-a-usersig"))
        assertEquals(70009, refusal("alice", sig("alice", "--secret-key", "another-apps-secret-key")))
        assertEquals(70013, refusal("alice", sig("bob")))
        assertEquals(70014, refusal("alice", sig("alice", "--sdk-app-id", "1400000002")))
        assertEquals(70020, refusal("alice", sig("alice"), sdkAppId = 1400000099L))
    }

    @Test
    fun code70050AfterRepeatedFailures() = runBlocking<Unit> {
        val server = serverWithConfig("max_failed_logins = 3\n")
        val c = client(server.wsUrl)
        val codes = (1..5).map { codeOf { c.login("alice", "bad-sig-$it") } }
        assertEquals(listOf(70003, 70003, 70003), codes.take(3))
        assertEquals(70050, codes.last())
        // Even a good sig is throttled now.
        assertEquals(70050, codeOf { c.login("alice", sig("alice")) })
    }

    @Test
    fun code60020AppDisabled() = runBlocking<Unit> {
        val server = serverWithConfig("app_enabled = false\n")
        val c = client(server.wsUrl)
        val e = try {
            c.login("alice", sig("alice"))
            fail("a disabled app must refuse logins")
        } catch (e: ChatException.Server) {
            e
        }
        assertEquals(60020, e.code)
    }

    @Test
    fun code9002AfterDestroy() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl, Platform.IOS)
        c.loginReady("alice", events)
        c.destroyClient()
        assertEquals(9002, codeOf { c.login("alice", sig("alice")) })
        assertEquals(9002, codeOf { c.logout() })
        // Getters return the logged-out values instead of failing.
        assertFalse(c.isReady())
        assertEquals("", c.loginUser())
        assertTrue(c.serverTimeMs() > 0)
        c.destroyClient()
    }

    @Test
    fun code9003ARustPanicSurfacesAsAnErrorNotAnAbort() = runBlocking<Unit> {
        for (inFuture in listOf(false, true)) {
            val e = try {
                debugPanic(inFuture)
                fail("debugPanic must fail")
            } catch (e: ChatException.Internal) {
                e
            }
            assertEquals(9003, e.code)
            assertTrue(e.detail.contains("panic"), e.detail)
        }
        // The library still works after the panics.
        val server = server()
        val (c, events) = recorded(server.wsUrl)
        c.loginReady("alice", events)
        assertTrue(c.isReady())
    }
}
