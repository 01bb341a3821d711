// The mobile calls of the Kotlin API against a real natter-server: a suspend UserSigProvider
// renewing short sigs, updateUserSig refused for another user (70013), reachability and
// getSessionState; and the RN bridge's pass-through of the same calls.
package dev.natter.test

import dev.natter.AppState
import dev.natter.ChatClient
import dev.natter.ChatConfig
import dev.natter.ChatEvent
import dev.natter.ChatException
import dev.natter.NetReason
import dev.natter.NetState
import dev.natter.Platform
import dev.natter.UserSigProvider
import dev.natter.reactnative.NatterBridge
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

class MobileTest : NatterTest() {
    /** Mints a 4-second sig per call (suspending, as an app's network call would). */
    private class ShortSigs(val user: String) : UserSigProvider {
        val calls = AtomicInteger()

        override suspend fun fetchUserSig(): String {
            calls.incrementAndGet()
            delay(10)
            return NatterServer.userSig(user, "--expire", "4")
        }
    }

    @Test
    fun aSuspendProviderRenewsShortSigsAndTheSessionNeverDrops() = runBlocking<Unit> {
        val server = server()
        val provider = ShortSigs("alice")
        val c = ChatClient.withUserSigProvider(ChatConfig(sdkAppId = DEV_APP.toULong(), serverUrl = server.wsUrl), provider)
        val events = Recorder()
        c.addListener(events)
        try {
            c.loginReady("alice", events, sig("alice", "--expire", "4"))
            val first = assertNotNull(c.getSessionState().userSigExpireTimeMs)
            // Two lifetimes: without renewal the server kicks after the first (waiting is the test).
            events.assertQuiet(8_000)
            assertTrue(provider.calls.get() >= 2, "provider called ${provider.calls.get()} times")
            val st = c.getSessionState()
            assertTrue(st.ready && st.netState == NetState.CONNECTED && st.loginUser == "alice")
            assertTrue(st.userSigExpireTimeMs!! > first)
        } finally {
            c.destroyClient()
            c.close()
        }
    }

    @Test
    fun anotherUsersSigIsRefusedWith70013AndTheSessionContinues() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl, Platform.ANDROID)
        c.loginReady("alice", events)
        assertEquals(70013, codeOf { c.updateUserSig(sig("bob")) })
        assertTrue(c.isReady())
        c.updateUserSig(sig("alice"))
        events.assertQuiet(200)
    }

    @Test
    fun unreachableDisconnectsAtOnceAndReachableReconnectsWithReasons() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl, Platform.ANDROID)
        c.loginReady("alice", events)
        c.setNetworkReachable(false)
        assertEquals(ChatEvent.NetStateChange(NetState.DISCONNECTED, NetReason.NETWORK_UNREACHABLE, null), events.next())
        val st = c.getSessionState()
        assertTrue(st.ready && st.netState == NetState.DISCONNECTED && st.nextRetryAtMs == null)
        c.setAppState(AppState.BACKGROUND)
        c.setAppState(AppState.ACTIVE)
        events.assertQuiet(500)
        c.setNetworkReachable(true)
        assertEquals(ChatEvent.NetStateChange(NetState.CONNECTING, NetReason.NETWORK_BACK, null), events.next())
        assertEquals(ChatEvent.NetStateChange(NetState.CONNECTED, NetReason.LOGGED_IN, null), events.next())
        assertEquals(0u, c.getSessionState().reconnectAttempt)
    }

    @Test
    fun theBridgePassesTheNewCallsThrough() {
        NatterBridge().use { b ->
            val id = b.create(jsOptions("ws://127.0.0.1:1/ws") + ("probeTimeoutMs" to 700.0) + ("userSigProvider" to true))["instanceId"] as String
            assertEquals(mapOf("code" to 9001), b.setAppState(id, "asleep") - "message")
            assertEquals(emptyMap(), b.setAppState(id, "background"))
            assertEquals(emptyMap(), b.setNetworkReachable(id, false))
            assertEquals(mapOf("code" to 9002), b.setNetworkReachable("nope", true) - "message")
            assertEquals(
                """{"loginUser":"","netState":"disconnected","ready":false,"reconnectAttempt":0}""",
                b.getSessionState(id),
            )
            assertTrue(b.updateUserSig(id, "sig") > 0)
            assertEquals(false, b.provideUserSig(12345.0, true, "sig"), "no such request")
            val o = NatterBridge.instanceOptions(mapOf("probeTimeoutMs" to 700.0, "userSigProvider" to true))
            assertEquals(700.0, o.probeTimeoutMs)
            assertEquals(true, o.userSigProvider)
        }
    }
}
