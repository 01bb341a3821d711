// All the logic of the React Native module, free of React Native and Android types so that the
// JVM tests exercise it directly (kotlin-tests/). NatterModule.kt only converts maps and emits.
package dev.natter.reactnative

import dev.natter.ChatClient
import dev.natter.ChatConfig
import dev.natter.ChatEvent
import dev.natter.ChatException
import dev.natter.ChatListener
import dev.natter.Platform
import dev.natter.kickTypeValue
import dev.natter.netStateValue
import dev.natter.eventName
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull

/** Natter's own codes for bridge-level failures (compat.md codes come from Rust). */
object BridgeCodes {
    const val NO_SDKAPPID = 2000
    const val INVALID_ARGUMENT = 9001
    const val INSTANCE_DESTROYED = 9002
    const val INTERNAL = 9003
}

/** A coded failure of a synchronous bridge call (the glue throws it to JS). */
class NatterBridgeException(val code: Int, override val message: String) : RuntimeException(message)

/** Where a promise method's outcome goes: `{code: 0, data}` or `{code, message}` in JS terms. */
interface BridgePromise {
    fun resolve(data: Map<String, Any?>?)
    fun reject(code: Int, message: String)
}

/** Receives `{instanceId, name, data}` events (the glue emits them to JS as `onNatterEvent`). */
fun interface EventSink {
    fun emit(instanceId: String, name: String, data: Map<String, Any?>)
}

/**
 * Orders and holds events until a sink is attached. Every event of every instance goes through
 * one single-threaded executor, so events keep the order Rust raised them in, none are lost while
 * no sink is attached (they queue, then flush in order on [attach]), and the sink is only ever
 * called from that one thread (never from a Rust thread, never under a lock).
 */
class EventGate : AutoCloseable {
    private val executor: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "natter-events").apply { isDaemon = true }
    }
    // Touched only on the executor thread.
    private var sink: EventSink? = null
    private val pending = ArrayDeque<Triple<String, String, Map<String, Any?>>>()

    fun emit(instanceId: String, name: String, data: Map<String, Any?>) = post {
        val s = sink
        if (s == null) pending.addLast(Triple(instanceId, name, data)) else deliver(s, instanceId, name, data)
    }

    /** Starts delivery to [sink], first flushing what was queued. */
    fun attach(sink: EventSink) = post {
        this.sink = sink
        while (pending.isNotEmpty()) {
            val (id, name, data) = pending.removeFirst()
            deliver(sink, id, name, data)
        }
    }

    /** Stops delivery; later events queue again. */
    fun detach() = post { sink = null }

    /** Runs [block] after every event posted so far was handled (tests, shutdown). */
    fun flush(timeoutMs: Long = 10_000): Boolean {
        val done = java.util.concurrent.CountDownLatch(1)
        post { done.countDown() }
        return done.await(timeoutMs, TimeUnit.MILLISECONDS)
    }

    private fun post(block: () -> Unit) {
        try {
            executor.execute(block)
        } catch (_: java.util.concurrent.RejectedExecutionException) {
            // Closed: the module is gone, nobody can receive events any more.
        }
    }

    private fun deliver(sink: EventSink, id: String, name: String, data: Map<String, Any?>) {
        try {
            sink.emit(id, name, data)
        } catch (e: Throwable) {
            // A failing sink must not stop the gate or lose later events.
            System.err.println("natter: event sink failed for $name of $id: $e")
        }
    }

    override fun close() {
        executor.shutdown()
    }
}

/**
 * The instance registry behind the TurboModule: `createInstance` returns an instance id, every
 * other call takes it. Promise methods run as coroutines on [scope]; events of each instance fan
 * out through [events] tagged with its instance id.
 */
class NatterBridge(
    val events: EventGate = EventGate(),
    private val scope: CoroutineScope = CoroutineScope(SupervisorJob() + Dispatchers.Default),
) : AutoCloseable {
    private class Instance(val client: ChatClient, val fanout: Fanout)

    private val instances = ConcurrentHashMap<String, Instance>()

    /** Validates [options] (the JS `NatterCreateOptions`) and creates an instance. */
    fun createInstance(options: Map<String, Any?>): String {
        val sdkAppId = (options["sdkAppId"] as? Number)?.toLong() ?: 0L
        if (sdkAppId <= 0L) {
            throw NatterBridgeException(BridgeCodes.NO_SDKAPPID, "sdkAppId is missing or not a positive number")
        }
        val serverUrl = options["serverUrl"] as? String
            ?: throw NatterBridgeException(BridgeCodes.INVALID_ARGUMENT, "serverUrl is missing")
        val platformName = options["platform"] as? String ?: "web"
        val platform = Platform.entries.firstOrNull { it.name.lowercase() == platformName }
            ?: throw NatterBridgeException(BridgeCodes.INVALID_ARGUMENT, "unknown platform \"$platformName\"")
        val config = ChatConfig(
            sdkAppId = sdkAppId.toULong(),
            serverUrl = serverUrl,
            platform = platform,
            heartbeatIntervalMs = millis(options, "heartbeatIntervalMs"),
            requestTimeoutMs = millis(options, "requestTimeoutMs"),
            loginTimeoutMs = millis(options, "loginTimeoutMs"),
        )
        val client = try {
            ChatClient(config)
        } catch (e: ChatException) {
            throw NatterBridgeException(codeOf(e), detailOf(e))
        }
        val id = client.instanceId()
        val fanout = Fanout(id, sdkAppId, events)
        client.addListener(fanout)
        instances[id] = Instance(client, fanout)
        return id
    }

    fun login(instanceId: String, userId: String, userSig: String, promise: BridgePromise) =
        call(instanceId, promise) { c ->
            val r = c.login(userId, userSig)
            mapOf("repeatLogin" to r.repeatLogin, "errorInfo" to r.errorInfo)
        }

    fun logout(instanceId: String, promise: BridgePromise) = call(instanceId, promise) { c ->
        c.logout()
        null
    }

    /** Destroys the instance (SDK_DESTROY is its last event) and forgets its id. Harmless twice. */
    fun destroy(instanceId: String, promise: BridgePromise) {
        val instance = instances[instanceId]
        if (instance == null) {
            promise.resolve(null)
            return
        }
        scope.launch {
            try {
                instance.client.destroyClient()
                // As the reference: SDK_DESTROY has been emitted when the promise resolves.
                withTimeoutOrNull(5_000) { instance.fanout.destroyed.await() }
                promise.resolve(null)
            } catch (e: Throwable) {
                reject(promise, e)
            } finally {
                instances.remove(instanceId)
                instance.client.close()
            }
        }
    }

    fun isReady(instanceId: String): Boolean = instances[instanceId]?.client?.isReady() ?: false

    fun getLoginUser(instanceId: String): String = instances[instanceId]?.client?.loginUser() ?: ""

    /** Server clock in ms; the local clock for an unknown or destroyed instance. */
    fun getServerTime(instanceId: String): Double =
        (instances[instanceId]?.client?.serverTimeMs() ?: System.currentTimeMillis()).toDouble()

    fun setLogLevel(level: Int) {
        try {
            dev.natter.setLogLevel(level)
        } catch (e: ChatException) {
            throw NatterBridgeException(codeOf(e), detailOf(e))
        }
    }

    val instanceCount: Int get() = instances.size

    /** The module is going away (RN `invalidate`): destroy every instance, stop the gate. */
    override fun close() {
        val all = instances.keys.toList()
        val latch = java.util.concurrent.CountDownLatch(all.size)
        val done = object : BridgePromise {
            override fun resolve(data: Map<String, Any?>?) = latch.countDown()
            override fun reject(code: Int, message: String) = latch.countDown()
        }
        all.forEach { destroy(it, done) }
        latch.await(5, TimeUnit.SECONDS)
        events.flush()
        scope.cancel()
        events.close()
    }

    private fun call(instanceId: String, promise: BridgePromise, block: suspend (ChatClient) -> Map<String, Any?>?) {
        val instance = instances[instanceId]
        if (instance == null) {
            promise.reject(BridgeCodes.INSTANCE_DESTROYED, "no Natter instance \"$instanceId\" (destroyed, or never created)")
            return
        }
        scope.launch {
            val data = try {
                block(instance.client)
            } catch (e: Throwable) {
                reject(promise, e)
                return@launch
            }
            promise.resolve(data)
        }
    }

    private fun reject(promise: BridgePromise, e: Throwable) = when (e) {
        is ChatException -> promise.reject(codeOf(e), detailOf(e))
        else -> promise.reject(BridgeCodes.INTERNAL, "internal error: $e")
    }

    private fun millis(options: Map<String, Any?>, key: String): ULong? {
        val v = options[key] ?: return null
        val n = (v as? Number)?.toDouble()
        if (n == null || n <= 0 || n.isNaN() || n > 9.0e15) {
            throw NatterBridgeException(BridgeCodes.INVALID_ARGUMENT, "$key must be a positive number of milliseconds")
        }
        return n.toLong().toULong()
    }

    /** Turns one instance's events into `{instanceId, name, data}` with the reference payloads. */
    private class Fanout(val instanceId: String, val sdkAppId: Long, val events: EventGate) : ChatListener {
        val destroyed = CompletableDeferred<Unit>()

        override fun onEvent(event: ChatEvent) {
            events.emit(instanceId, eventName(event), eventData(event, sdkAppId))
            if (event is ChatEvent.SdkDestroy) destroyed.complete(Unit)
        }
    }

    companion object {
        /** The reference SDK's `data` payload of [event] (compat.md). */
        fun eventData(event: ChatEvent, sdkAppId: Long): Map<String, Any?> = when (event) {
            is ChatEvent.KickedOut -> mapOf("type" to kickTypeValue(event.kickType))
            is ChatEvent.NetStateChange -> mapOf("state" to netStateValue(event.state))
            is ChatEvent.Error -> mapOf("code" to event.code, "message" to event.detail)
            is ChatEvent.SdkDestroy -> mapOf("SDKAppID" to sdkAppId)
            is ChatEvent.SdkReady, is ChatEvent.SdkNotReady -> emptyMap()
        }

        fun codeOf(e: ChatException): Int = when (e) {
            is ChatException.NoSdkAppId -> e.code
            is ChatException.NoUserId -> e.code
            is ChatException.NoUserSig -> e.code
            is ChatException.NotLoggedIn -> e.code
            is ChatException.LoginInProgress -> e.code
            is ChatException.Network -> e.code
            is ChatException.Timeout -> e.code
            is ChatException.Server -> e.code
            is ChatException.InvalidArgument -> e.code
            is ChatException.Destroyed -> e.code
            is ChatException.Internal -> e.code
        }

        fun detailOf(e: ChatException): String = when (e) {
            is ChatException.NoSdkAppId -> e.detail
            is ChatException.NoUserId -> e.detail
            is ChatException.NoUserSig -> e.detail
            is ChatException.NotLoggedIn -> e.detail
            is ChatException.LoginInProgress -> e.detail
            is ChatException.Network -> e.detail
            is ChatException.Timeout -> e.detail
            is ChatException.Server -> e.detail
            is ChatException.InvalidArgument -> e.detail
            is ChatException.Destroyed -> e.detail
            is ChatException.Internal -> e.detail
        }
    }
}
