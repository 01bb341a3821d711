// The ordering contract of the Hub, driven through the RN bridge (android/.../NatterBridge.kt)
// on the JVM against a real server: calls made in the same tick keep their order, every
// settlement comes after the events its instance emitted before it, and items raised while
// nobody listens wait in Rust and arrive in order after attach.
package dev.natter.test

import dev.natter.reactnative.NatterBridge
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlin.test.fail
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Test

class HubOrderTest : NatterTest() {
    private val bridges = mutableListOf<NatterBridge>()

    private fun bridge() = NatterBridge().also { bridges += it }

    private fun attached(): Pair<NatterBridge, JsItems> {
        val b = bridge()
        val js = JsItems()
        b.attach(js.emit)
        return b to js
    }

    @AfterEach
    fun closeBridges() {
        bridges.forEach { it.close() }
        bridges.clear()
    }

    /** The settlement of [callId] in [items], and where it is. */
    private fun settlement(items: List<Map<String, Any?>>, callId: Double): IndexedValue<Map<String, Any?>> =
        items.withIndex().singleOrNull { it.value["kind"] == "settled" && it.value["callId"] == callId }
            ?: fail("call #$callId settled ${items.count { it["callId"] == callId }} times in ${showAll(items)}")

    @Test
    fun twoLoginsInOneTickTheSecondNeverOvertakesTheFirst() {
        val server = server()
        val (b, js) = attached()
        val aliceSig = sig("alice")
        val bobSig = sig("bob")
        repeat(5) { round ->
            val id = b.instance(server.wsUrl)
            val first = b.login(id, "alice", aliceSig)
            val second = b.login(id, "bob", bobSig)
            assertTrue(second > first, "call ids follow call order")
            val both = js.untilSettled(first, second)
            assertEquals("alice", b.getLoginUser(id), "${showAll(both)}")
            assertTrue(b.isReady(id))
            val destroy = b.destroy(id)
            val all = both + js.untilSettled(destroy)
            val firstAt = settlement(all, first)
            val secondAt = settlement(all, second)
            assertEquals(loginOk(first), show(firstAt.value), "round $round: ${showAll(all)}")
            val s = secondAt.value
            if (s["ok"] == true) {
                // Repeat login: only possible once the first one is in, so it settles after it.
                assertTrue(secondAt.index > firstAt.index, "round $round: ${showAll(all)}")
                assertTrue((s["data"] as String).contains("\"repeatLogin\":true"), "round $round: $s")
                assertTrue((s["data"] as String).contains("alice"), "round $round: $s")
            } else {
                assertEquals(2025, s["code"], "round $round: ${showAll(all)}")
            }
            // One session (alice's), one SDK_READY after the first login settled, then the end.
            val shown = showAll(all)
            assertEquals(1, shown.count { it == READY }, "round $round: $shown")
            assertTrue(shown.indexOf(READY) > firstAt.index, "round $round: $shown")
            assertEquals(listOf(NOT_READY, DISCONNECTED, DESTROYED, ok(destroy)), shown.takeLast(4), "round $round")
            assertTrue(all.filter { it["kind"] == "event" }.all { it["instanceId"] == id })
        }
        js.assertQuiet()
    }

    @Test
    fun loginThenLogoutInOneTickRunInCallOrder() {
        val server = server()
        val (b, js) = attached()
        val id = b.instance(server.wsUrl)
        val aliceSig = sig("alice")
        repeat(3) { round ->
            val login = b.login(id, "alice", aliceSig)
            val logout = b.logout(id)
            val items = showAll(js.untilSettled(login, logout)).toMutableList()
            if (!items.contains(READY)) items += show(js.next())
            if (err(logout, 2024) in items) {
                // The usual case: the logout meets the login in flight, finds no session yet and
                // settles 2024, after the login started (connecting); the login goes on undisturbed.
                assertTrue(items.indexOf(err(logout, 2024)) > items.indexOf(CONNECTING), "round $round: $items")
                assertEquals(listOf(CONNECTING, CONNECTED, loginOk(login), READY), items - err(logout, 2024), "round $round")
                val after = b.logout(id)
                assertEquals(listOf(NOT_READY, DISCONNECTED, ok(after)), showAll(js.untilSettled(after)), "round $round")
            } else {
                // The test thread was descheduled between the two calls for longer than a loopback
                // login: the logout then runs after it, still in call order.
                assertEquals(
                    listOf(CONNECTING, CONNECTED, loginOk(login), READY, NOT_READY, DISCONNECTED, ok(logout)),
                    items,
                    "round $round",
                )
            }
            assertFalse(b.isReady(id))
            assertEquals("", b.getLoginUser(id))
        }
        js.assertQuiet()
    }

    @Test
    fun destroyRacingLoginEndsTheLoginThenTheInstance() {
        val server = server()
        val (b, js) = attached()
        val aliceSig = sig("alice")
        repeat(3) { round ->
            val id = b.instance(server.wsUrl)
            val login = b.login(id, "alice", aliceSig)
            val destroy = b.destroy(id)
            val items = js.untilSettled(login, destroy)
            val shown = showAll(items)
            val loginSettled = settlement(items, login)
            if (show(loginSettled.value) == loginOk(login)) {
                // The test thread was descheduled between the calls for longer than a loopback
                // login: the destroy then logs the session out first, still in call order.
                assertEquals(
                    listOf(CONNECTING, CONNECTED, loginOk(login), READY, NOT_READY, DISCONNECTED, DESTROYED, ok(destroy)),
                    shown,
                    "round $round",
                )
            } else {
                // The usual case: the destroy ends the login in flight (9002), which settles
                // before SDK_DESTROY, the instance's last event, which comes before the destroy settles.
                assertEquals(err(login, 9002), show(loginSettled.value), "round $round: $shown")
                assertEquals(listOf(DESTROYED, ok(destroy)), shown.takeLast(2), "round $round: $shown")
                assertTrue(loginSettled.index < shown.indexOf(DESTROYED), "round $round: $shown")
                assertEquals(1, shown.count { it == DESTROYED })
            }
            assertFalse(b.isReady(id))
            // The instance is gone: a later login settles 9002, a second destroy is harmless.
            val again = b.login(id, "alice", aliceSig)
            val twice = b.destroy(id)
            assertEquals(listOf(err(again, 9002), ok(twice)), showAll(js.untilSettled(again, twice)), "round $round")
        }
        js.assertQuiet()
    }

    @Test
    fun itemsRaisedBeforeAttachArriveInOrderAfterIt() {
        val server = server()
        val b = bridge() // JS has not looked the module up yet: no sink
        val id = b.instance(server.wsUrl)
        val login = b.login(id, "alice", sig("alice"))
        waitUntil("login done") { b.isReady(id) }

        val js = JsItems()
        b.attach(js.emit)
        assertEquals(listOf(CONNECTING, CONNECTED, loginOk(login)), showAll(js.untilSettled(login)))
        assertEquals(READY, show(js.next()))

        // Detached again (a JS reload): items queue in Rust until the next attach.
        b.detach()
        val logout = b.logout(id)
        waitUntil("logout done") { !b.isReady(id) }
        js.assertQuiet()
        val reloaded = JsItems()
        b.attach(reloaded.emit)
        assertEquals(listOf(NOT_READY, DISCONNECTED, ok(logout)), showAll(reloaded.untilSettled(logout)))
        reloaded.assertQuiet()
        assertEquals(0, js.arrivals.size, "the detached sink got nothing more")
    }

    @Test
    fun everySettlementFollowsTheEventsEmittedBeforeIt() {
        val server = server()
        val (b, js) = attached()
        val id = b.instance(server.wsUrl)
        val sigs = (0 until 5).map { sig("user$it") }
        for (i in 0 until 5) {
            val login = b.login(id, "user$i", sigs[i])
            // Settled strictly after connecting/connected, SDK_READY right behind it.
            assertEquals(listOf(CONNECTING, CONNECTED, loginOk(login)), showAll(js.untilSettled(login)))
            assertEquals(READY, show(js.next()))
            val logout = b.logout(id)
            assertEquals(listOf(NOT_READY, DISCONNECTED, ok(logout)), showAll(js.untilSettled(logout)))
        }
        val destroy = b.destroy(id)
        assertEquals(listOf(DESTROYED, ok(destroy)), showAll(js.untilSettled(destroy)))
        js.assertQuiet()
        // Every item reached the sink on one of Natter's runtime threads, never on the caller's.
        val test = Thread.currentThread().name
        assertEquals(5 * 7 + 2, js.log.size)
        for (a in js.log) {
            assertTrue(a.nativeThread.startsWith("natter"), "${show(a.item)} arrived on ${a.nativeThread}")
            assertTrue(a.thread != test)
        }
    }

    @Test
    fun twoInstancesShareTheSinkEachInItsOwnOrderWithReferencePayloads() {
        val server = server()
        val (b, js) = attached()
        val older = b.instance(server.wsUrl, "web")
        val newer = b.instance(server.wsUrl, "web")
        assertTrue(older != newer)
        val aliceSig = sig("alice")
        val first = b.login(older, "alice", aliceSig)
        js.untilSettled(first)
        assertEquals(READY, show(js.next()))
        val second = b.login(newer, "alice", aliceSig)
        // The newer web login kicks the older one (multipleAccount); the two streams interleave.
        val items = js.untilSettled(second).toMutableList()
        while (items.none { it["instanceId"] == newer && it["name"] == "sdkStateReady" } ||
            items.none { it["instanceId"] == older && it["name"] == "netStateChange" }
        ) {
            items += js.next()
        }
        fun of(id: String) = items.filter { it["instanceId"] == id || (it["kind"] == "settled" && id == newer) }
        assertEquals(listOf(CONNECTING, CONNECTED, loginOk(second), READY), showAll(of(newer)))
        assertEquals(
            listOf("kickedOut {\"type\":\"multipleAccount\"}", NOT_READY, KICKED_DISCONNECTED),
            showAll(of(older)),
        )
        assertFalse(b.isReady(older))
        assertTrue(b.isReady(newer))

        server.restKick("alice")
        assertEquals(
            listOf("kickedOut {\"type\":\"REST_API_Kick\"}", NOT_READY, KICKED_DISCONNECTED),
            (1..3).map { js.next() }.onEach { assertEquals(newer, it["instanceId"]) }.map(::show),
        )
    }

    @Test
    fun closingTheBridgeReleasesItsInstancesOnTheServer() {
        // RN's invalidate() closes the bridge: the hub goes, and with it every instance's session.
        val server = server()
        val b = NatterBridge()
        val js = JsItems()
        b.attach(js.emit)
        val id = b.instance(server.wsUrl, "android")
        val login = b.login(id, "alice", sig("alice"))
        assertEquals(loginOk(login), showAll(js.untilSettled(login)).last())
        assertEquals("Online", server.onlineStatus("alice"))
        b.close()
        waitUntil("alice offline after close", pollMs = 20) { server.onlineStatus("alice") == "Offline" }
    }
}
