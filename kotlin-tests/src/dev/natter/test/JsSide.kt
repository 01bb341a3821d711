// The JS side of the React Native module, without React Native: what NatterModule.kt would hand
// to `emitOnNatterItem`, recorded in arrival order, plus readable forms for assertions.
package dev.natter.test

import dev.natter.reactnative.NatterBridge
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertNull
import kotlin.test.fail

/** Every `NatterItem` the bridge emitted, with the Java thread it arrived on. */
class JsItems {
    data class Arrival(val item: Map<String, Any?>, val thread: String, val nativeThread: String)

    val arrivals = LinkedBlockingQueue<Arrival>()

    /** Everything that arrived, kept after [next] consumed it. */
    val log = CopyOnWriteArrayList<Arrival>()

    val emit: (Map<String, Any?>) -> Unit = {
        val a = Arrival(it, Thread.currentThread().name, nativeThreadName())
        log += a
        arrivals.put(a)
    }

    fun next(timeoutMs: Long = WAIT_MS): Map<String, Any?> =
        (arrivals.poll(timeoutMs, TimeUnit.MILLISECONDS) ?: fail("no item within $timeoutMs ms")).item

    /** The items up to and including the settlement of every one of [callIds]. */
    fun untilSettled(vararg callIds: Double): List<Map<String, Any?>> {
        val pending = callIds.toMutableSet()
        val out = mutableListOf<Map<String, Any?>>()
        while (pending.isNotEmpty()) {
            val item = next()
            out += item
            if (item["kind"] == "settled") pending.remove(item["callId"])
        }
        return out
    }

    fun assertQuiet(ms: Long = QUIET_MS) {
        assertNull(arrivals.poll(ms, TimeUnit.MILLISECONDS)?.let { show(it.item) }, "unexpected item")
    }
}

/** `name data` for an event, `#callId ok data` / `#callId err code` for a settlement. */
fun show(item: Map<String, Any?>): String = when (item["kind"]) {
    "event" -> "${item["name"]} ${item["data"]}"
    "settled" -> {
        val id = (item["callId"] as Double).toLong()
        if (item["ok"] == true) "#$id ok ${item["data"]}" else "#$id err ${item["code"]}"
    }
    else -> fail("not a NatterItem: $item")
}

fun showAll(items: List<Map<String, Any?>>) = items.map(::show)

/** The JS `create()` options of a dev-app instance on [url]. */
fun jsOptions(url: String, platform: String = "web"): Map<String, Any?> =
    // JS numbers arrive as Double through ReadableMap.toHashMap().
    mapOf("SDKAppID" to DEV_APP.toDouble(), "proxyServer" to url, "platform" to platform)

/** Creates an instance through the bridge, failing the test when Rust refuses the options. */
fun NatterBridge.instance(url: String, platform: String = "web"): String {
    val r = create(jsOptions(url, platform))
    return r["instanceId"] as? String ?: fail("create refused: $r")
}

/** Waits (with a deadline) for a condition that nothing signals, e.g. a getter changing. */
fun waitUntil(what: String, pollMs: Long = 1, condition: () -> Boolean) {
    val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS)
    while (!condition()) {
        if (System.nanoTime() > deadline) fail("$what: not within $WAIT_MS ms")
        Thread.sleep(pollMs) // the polling interval, not a wait for an outcome: the condition decides
    }
}

// The items of one instance, as `show` writes them.
// `reason` (a Natter addition) says why: a login connects, its acceptance connects, a logout ends.
const val CONNECTING = "netStateChange {\"reason\":\"login\",\"state\":\"connecting\"}"
const val CONNECTED = "netStateChange {\"reason\":\"loggedIn\",\"state\":\"connected\"}"
const val DISCONNECTED = "netStateChange {\"reason\":\"loggedOut\",\"state\":\"disconnected\"}"
const val KICKED_DISCONNECTED = "netStateChange {\"reason\":\"kicked\",\"state\":\"disconnected\"}"
const val READY = "sdkStateReady {}"
const val NOT_READY = "sdkStateNotReady {}"
const val DESTROYED = "sdkDestroy {\"SDKAppID\":$DEV_APP}"

fun ok(callId: Double, data: String = "{}") = "#${callId.toLong()} ok $data"

fun loginOk(callId: Double) = ok(callId, "{\"repeatLogin\":false}")

fun err(callId: Double, code: Int) = "#${callId.toLong()} err $code"
