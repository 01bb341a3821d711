// The four kick types through the Kotlin API (spec §4): KICKED_OUT then SDK_NOT_READY then the
// link goes down; no automatic re-login; a manual login works again.
package dev.natter.test

import dev.natter.ChatClient
import dev.natter.ChatEvent
import dev.natter.KickType
import dev.natter.NetState
import dev.natter.Platform
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

class KickTest : NatterTest() {
    private fun Recorder.expectKicked(type: KickType) =
        expect(ChatEvent.KickedOut(type), ChatEvent.SdkNotReady, net(NetState.DISCONNECTED))

    /** After a kick: logged out, and it stays so (no re-login of its own). */
    private fun assertKickedAndQuiet(c: ChatClient, events: Recorder) {
        assertFalse(c.isReady())
        assertEquals("", c.loginUser())
        events.assertQuiet()
        assertFalse(c.isReady())
    }

    @Test
    fun multipleAccountKicksTheOlderWebInstance() = runBlocking<Unit> {
        val server = server()
        val (older, olderEvents) = recorded(server.wsUrl, Platform.WEB)
        val (newer, newerEvents) = recorded(server.wsUrl, Platform.WEB)
        older.loginReady("alice", olderEvents)
        newer.loginReady("alice", newerEvents)
        olderEvents.expectKicked(KickType.MULTIPLE_ACCOUNT)
        assertKickedAndQuiet(older, olderEvents)
        assertTrue(newer.isReady())
        newerEvents.assertQuiet(0)
        // A manual login works again (and now the other page is the older one).
        older.loginReady("alice", olderEvents)
        newerEvents.expectKicked(KickType.MULTIPLE_ACCOUNT)
    }

    @Test
    fun multipleDeviceKicksTheOlderAndroidInstance() = runBlocking<Unit> {
        val server = server()
        val (phone, phoneEvents) = recorded(server.wsUrl, Platform.ANDROID)
        val (otherPhone, otherEvents) = recorded(server.wsUrl, Platform.ANDROID)
        phone.loginReady("alice", phoneEvents)
        otherPhone.loginReady("alice", otherEvents)
        phoneEvents.expectKicked(KickType.MULTIPLE_DEVICE)
        assertKickedAndQuiet(phone, phoneEvents)
        assertTrue(otherPhone.isReady())
        phone.loginReady("alice", phoneEvents)
        otherEvents.expectKicked(KickType.MULTIPLE_DEVICE)
    }

    @Test
    fun userSigExpiredKicksTheSessionWhenItsSigExpires() = runBlocking<Unit> {
        val server = server()
        val (c, events) = recorded(server.wsUrl, Platform.IOS)
        // Issued 8 s ago for 10 s: valid at login, expired about 2 s later.
        c.loginReady("alice", events, sig("alice", "--clock-skew-ms", "-8000", "--expire", "10"))
        events.expectKicked(KickType.USER_SIG_EXPIRED)
        assertKickedAndQuiet(c, events)
        c.loginReady("alice", events, sig("alice"))
        assertTrue(c.isReady())
    }

    @Test
    fun restApiKickReachesEveryInstanceOfTheUser() = runBlocking<Unit> {
        val server = server()
        val (web, webEvents) = recorded(server.wsUrl, Platform.WEB)
        val (phone, phoneEvents) = recorded(server.wsUrl, Platform.ANDROID)
        val (bob, bobEvents) = recorded(server.wsUrl, Platform.WEB)
        web.loginReady("alice", webEvents)
        phone.loginReady("alice", phoneEvents)
        bob.loginReady("bob", bobEvents)

        val reply = server.restKick("alice")
        assertTrue(reply.contains("\"OK\""), reply)
        webEvents.expectKicked(KickType.REST_API)
        phoneEvents.expectKicked(KickType.REST_API)
        assertKickedAndQuiet(web, webEvents)
        assertKickedAndQuiet(phone, phoneEvents)
        // Another user is untouched.
        assertTrue(bob.isReady())
        bobEvents.assertQuiet(0)

        web.loginReady("alice", webEvents)
        phone.loginReady("alice", phoneEvents)
        assertTrue(web.isReady() && phone.isReady())
    }
}
