// The React Native module's marshalling between the TurboModule contract (js/src/NativeNatter.ts)
// and the Rust Hub, free of React Native types so that the JVM tests run it (kotlin-tests/).
// Every rule (option validation, call order, event order, queueing until JS listens) lives in
// Rust; this file only copies values. NatterModule.kt turns these plain maps into RN maps.
package dev.natter.reactnative

import dev.natter.CallOutcome
import dev.natter.ChatException
import dev.natter.Hub
import dev.natter.HubItem
import dev.natter.HubSink
import dev.natter.InstanceOptions

/** One module instance's Hub: each method is a synchronous pass-through. */
class NatterBridge(private val hub: Hub = Hub()) : AutoCloseable {
    /** Starts delivery: items the hub queued while nobody listened come first, in order. */
    fun attach(emit: (Map<String, Any?>) -> Unit) {
        hub.setSink(object : HubSink {
            override fun onItem(item: HubItem) = emit(itemMap(item))
        })
    }

    /** Stops delivery; the hub queues items again until the next [attach]. */
    fun detach() = hub.clearSink()

    /** `{instanceId}`, or `{code, message}` for options Rust refused: never throws. */
    fun create(options: Map<String, Any?>): Map<String, Any?> = try {
        mapOf("instanceId" to hub.create(instanceOptions(options)))
    } catch (e: ChatException) {
        errorMap(e)
    }

    fun login(instanceId: String, userId: String, userSig: String): Double =
        hub.login(instanceId, userId, userSig).toDouble()

    fun logout(instanceId: String): Double = hub.logout(instanceId).toDouble()

    fun destroy(instanceId: String): Double = hub.destroy(instanceId).toDouble()

    fun isReady(instanceId: String): Boolean = hub.isReady(instanceId)

    fun getLoginUser(instanceId: String): String = hub.loginUser(instanceId)

    fun getServerTime(instanceId: String): Double = hub.serverTimeMs(instanceId)

    /** `{}`, or `{code, message}` for a level Rust refused (not a whole number 0…4: 9001). */
    fun setLogLevel(level: Double): Map<String, Any?> = try {
        hub.setLogLevel(level)
        emptyMap()
    } catch (e: ChatException) {
        errorMap(e)
    }

    /** Natter `updateUserSig`: the call id; the outcome arrives as a `settled` item. */
    fun updateUserSig(instanceId: String, userSig: String): Double =
        hub.updateUserSig(instanceId, userSig).toDouble()

    /** Answers a `userSigNeeded {requestId}` item: `ok` → [value] is the sig, else the provider's error. */
    fun provideUserSig(requestId: Double, ok: Boolean, value: String): Boolean =
        hub.provideUserSig(requestId.toLong().toULong(), if (ok) value else null, if (ok) null else value)

    /** `{}`, or `{code, message}` (9001 for a state other than active/background, 9002 unknown id). */
    fun setAppState(instanceId: String, state: String): Map<String, Any?> = try {
        hub.setAppState(instanceId, state)
        emptyMap()
    } catch (e: ChatException) {
        errorMap(e)
    }

    /** `{}`, or `{code, message}` (9002 unknown id). */
    fun setNetworkReachable(instanceId: String, reachable: Boolean): Map<String, Any?> = try {
        hub.setNetworkReachable(instanceId, reachable)
        emptyMap()
    } catch (e: ChatException) {
        errorMap(e)
    }

    /** `getSessionState()` as the JSON text Rust wrote. */
    fun getSessionState(instanceId: String): String = hub.sessionState(instanceId)

    /** The module is going away: stop emitting and release the hub (Rust ends its instances). */
    override fun close() {
        hub.clearSink()
        hub.close()
    }

    companion object {
        /** The JS option names of `create()`: numbers copied as doubles, strings as strings. */
        fun instanceOptions(js: Map<String, Any?>) = InstanceOptions(
            sdkAppId = js.number("SDKAppID"),
            proxyServer = js["proxyServer"] as? String,
            platform = js["platform"] as? String,
            heartbeatIntervalMs = js.number("heartbeatIntervalMs"),
            requestTimeoutMs = js.number("requestTimeoutMs"),
            loginTimeoutMs = js.number("loginTimeoutMs"),
            reconnectMinDelayMs = js.number("reconnectMinDelayMs"),
            reconnectMaxDelayMs = js.number("reconnectMaxDelayMs"),
            extraRootCertsPem = js["extraRootCertsPem"] as? String,
            probeTimeoutMs = js.number("probeTimeoutMs"),
            userSigProvider = js["userSigProvider"] as? Boolean,
        )

        /** A [HubItem] as the contract's `NatterItem`. */
        fun itemMap(item: HubItem): Map<String, Any?> = when (item) {
            is HubItem.Event -> mapOf(
                "kind" to "event",
                "instanceId" to item.instanceId,
                "name" to item.name,
                "data" to item.dataJson,
            )
            is HubItem.Settled -> when (val o = item.outcome) {
                is CallOutcome.Ok -> mapOf(
                    "kind" to "settled",
                    "callId" to item.callId.toDouble(),
                    "ok" to true,
                    "data" to o.dataJson,
                )
                is CallOutcome.Err -> mapOf(
                    "kind" to "settled",
                    "callId" to item.callId.toDouble(),
                    "ok" to false,
                    "code" to o.code,
                    "message" to o.message,
                )
            }
        }

        /** Every variant carries its code and detail; the base type reads them (Rust's `ChatError::code`/`detail`). */
        fun errorMap(e: ChatException): Map<String, Any?> = mapOf("code" to e.code(), "message" to e.detail())

        private fun Map<String, Any?>.number(key: String): Double? = (this[key] as? Number)?.toDouble()
    }
}
