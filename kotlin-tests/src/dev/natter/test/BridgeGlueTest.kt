// The marshalling of the RN bridge (android/.../NatterBridge.kt): JS options into
// InstanceOptions, HubItems into NatterItem maps, Rust's refusals into {code, message}.
package dev.natter.test

import dev.natter.CallOutcome
import dev.natter.HubItem
import dev.natter.InstanceOptions
import dev.natter.reactnative.NatterBridge
import kotlin.math.abs
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Test

class BridgeGlueTest : NatterTest() {
    private val bridges = mutableListOf<NatterBridge>()

    private fun bridge() = NatterBridge().also { bridges += it }

    @AfterEach
    fun closeBridges() {
        bridges.forEach { it.close() }
        bridges.clear()
    }

    @Test
    fun optionsAreCopiedAsDoublesAndStringsAndAbsentKeysAsNull() {
        val all = mapOf(
            "SDKAppID" to 1400000001.0,
            "proxyServer" to "wss://im.example.com",
            "platform" to "ios",
            "heartbeatIntervalMs" to 1500.0,
            "requestTimeoutMs" to 2500.5,
            "loginTimeoutMs" to 3500,
            "reconnectMinDelayMs" to -1.0,
            "reconnectMaxDelayMs" to Double.NaN,
        )
        val o = NatterBridge.instanceOptions(all)
        assertEquals(1400000001.0, o.sdkAppId)
        assertEquals("wss://im.example.com", o.proxyServer)
        assertEquals("ios", o.platform)
        assertEquals(1500.0, o.heartbeatIntervalMs)
        assertEquals(2500.5, o.requestTimeoutMs)
        assertEquals(3500.0, o.loginTimeoutMs)
        assertEquals(-1.0, o.reconnectMinDelayMs)
        assertTrue(o.reconnectMaxDelayMs!!.isNaN())
        assertEquals(InstanceOptions(null, null, null, null, null, null, null, null), NatterBridge.instanceOptions(emptyMap()))
        // Wrong JS types are not converted: Rust sees the option as absent.
        val wrong = NatterBridge.instanceOptions(mapOf("SDKAppID" to "1400000001", "proxyServer" to 5.0, "platform" to true))
        assertEquals(InstanceOptions(null, null, null, null, null, null, null, null), wrong)
    }

    @Test
    fun rustRefusesBadOptionsWithDocumentedCodes() {
        val b = bridge()
        val ok = jsOptions("ws://127.0.0.1:1/ws")
        fun code(options: Map<String, Any?>): Any? {
            val r = b.create(options)
            assertTrue((r["message"] as? String)?.isNotEmpty() == true, "$options -> $r")
            assertEquals(setOf("code", "message"), r.keys)
            return r["code"]
        }
        assertEquals(2000, code(ok - "SDKAppID"))
        assertEquals(2000, code(ok + ("SDKAppID" to 0.0)))
        assertEquals(2000, code(ok + ("SDKAppID" to -1400000001.0)))
        assertEquals(2000, code(ok + ("SDKAppID" to 1400000001.5)))
        assertEquals(2000, code(ok + ("SDKAppID" to "1400000001")))
        for (key in listOf("heartbeatIntervalMs", "requestTimeoutMs", "loginTimeoutMs", "reconnectMinDelayMs", "reconnectMaxDelayMs")) {
            for (bad in listOf(0.0, -5.0, 2.5, Double.NaN)) {
                assertEquals(9001, code(ok + (key to bad)), "$key = $bad")
            }
        }
        assertEquals(9001, code(ok + ("proxyServer" to "http://127.0.0.1:1/ws")))
        assertEquals(9001, code(ok + ("platform" to "symbian")))
        // Every platform name of the contract, and the defaults, are accepted.
        for (p in listOf("web", "android", "ios", "ipad", "windows", "mac", "linux")) {
            assertTrue(b.create(jsOptions("ws://127.0.0.1:1/ws", p)).containsKey("instanceId"), p)
        }
        assertTrue(b.create(mapOf("SDKAppID" to DEV_APP.toDouble())).containsKey("instanceId"))
    }

    @Test
    fun itemsBecomeNatterItemMaps() {
        assertEquals(
            mapOf("kind" to "event", "instanceId" to "i-1", "name" to "kickedOut", "data" to "{\"type\":\"multipleDevice\"}"),
            NatterBridge.itemMap(HubItem.Event("i-1", "kickedOut", "{\"type\":\"multipleDevice\"}")),
        )
        assertEquals(
            mapOf("kind" to "settled", "callId" to 7.0, "ok" to true, "data" to "{\"repeatLogin\":false}"),
            NatterBridge.itemMap(HubItem.Settled(7uL, CallOutcome.Ok("{\"repeatLogin\":false}"))),
        )
        assertEquals(
            mapOf("kind" to "settled", "callId" to 9.007199254740991E15, "ok" to false, "code" to 70003, "message" to "bad sig"),
            NatterBridge.itemMap(HubItem.Settled(9007199254740991uL, CallOutcome.Err(70003, "bad sig"))),
        )
    }

    @Test
    fun setLogLevelReturnsEmptyOrACode() {
        val b = bridge()
        assertEquals(emptyMap(), b.setLogLevel(2.0))
        for (bad in listOf(5.0, -1.0, 1.5, Double.NaN)) {
            val r = b.setLogLevel(bad)
            assertEquals(9001, r["code"], "setLogLevel($bad) -> $r")
        }
        assertEquals(emptyMap(), b.setLogLevel(4.0))
    }

    @Test
    fun gettersAndCallsPassThroughToTheHub() {
        val server = server()
        val b = bridge()
        val js = JsItems()
        b.attach(js.emit)
        val id = b.instance(server.wsUrl)
        assertFalse(b.isReady(id))
        assertEquals("", b.getLoginUser(id))
        val login = b.login(id, "alice", sig("alice"))
        assertEquals(loginOk(login), showAll(js.untilSettled(login)).last())
        assertTrue(b.isReady(id))
        assertEquals("alice", b.getLoginUser(id))
        assertTrue(abs(b.getServerTime(id) - System.currentTimeMillis()) < 1_000)
        // Coded failures of calls settle through the sink, never throw.
        val empty = b.login(id, "", "sig")
        assertEquals(err(empty, 2002), show(js.untilSettled(empty).last()))
        val unknown = b.login("no-such-instance", "alice", "sig")
        val unknownLogout = b.logout("no-such-instance")
        val unknownDestroy = b.destroy("no-such-instance")
        assertEquals(
            setOf(err(unknown, 9002), err(unknownLogout, 9002), ok(unknownDestroy)),
            showAll(js.untilSettled(unknown, unknownLogout, unknownDestroy)).toSet(),
        )
        assertFalse(b.isReady("no-such-instance"))
        assertEquals("", b.getLoginUser("no-such-instance"))
    }
}
