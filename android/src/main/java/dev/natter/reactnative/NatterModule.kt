// The TurboModule "Natter": thin glue between React Native and NatterBridge. It only converts
// maps and emits events; every rule lives in NatterBridge.kt (tested on the JVM).
package dev.natter.reactnative

import com.facebook.react.bridge.Arguments
import com.facebook.react.bridge.CxxCallbackImpl
import com.facebook.react.bridge.Promise
import com.facebook.react.bridge.ReactApplicationContext
import com.facebook.react.bridge.ReadableMap
import com.facebook.react.bridge.WritableMap
import com.facebook.react.module.annotations.ReactModule

@ReactModule(name = NativeNatterSpec.NAME)
class NatterModule(context: ReactApplicationContext) : NativeNatterSpec(context) {
    private val bridge = NatterBridge()

    init {
        loadNativeLibrary()
    }

    /**
     * React Native calls this when JS first looks the module up. Codegen's `emitOnNatterEvent`
     * dereferences this callback and crashes when called earlier (react-native#57893), so events
     * raised before then are queued by the bridge's EventGate and flushed here, in order.
     */
    override fun setEventEmitterCallback(eventEmitterCallback: CxxCallbackImpl) {
        super.setEventEmitterCallback(eventEmitterCallback)
        bridge.events.attach { instanceId, name, data ->
            val event = Arguments.createMap()
            event.putString("instanceId", instanceId)
            event.putString("name", name)
            event.putMap("data", toWritableMap(data))
            emitOnNatterEvent(event)
        }
    }

    override fun createInstance(options: ReadableMap): String = coded { bridge.createInstance(options.toHashMap()) }

    override fun login(instanceId: String, userId: String, userSig: String, promise: Promise) =
        bridge.login(instanceId, userId, userSig, promise.asBridgePromise())

    override fun logout(instanceId: String, promise: Promise) = bridge.logout(instanceId, promise.asBridgePromise())

    override fun destroy(instanceId: String, promise: Promise) = bridge.destroy(instanceId, promise.asBridgePromise())

    override fun isReady(instanceId: String): Boolean = bridge.isReady(instanceId)

    override fun getLoginUser(instanceId: String): String = bridge.getLoginUser(instanceId)

    override fun getServerTime(instanceId: String): Double = bridge.getServerTime(instanceId)

    override fun setLogLevel(level: Double) = coded { bridge.setLogLevel(level.toInt()) }

    override fun invalidate() {
        bridge.events.detach()
        bridge.close()
        super.invalidate()
    }

    /** Synchronous methods throw to JS; the message starts with the code: "[9001] ...". */
    private inline fun <T> coded(block: () -> T): T = try {
        block()
    } catch (e: NatterBridgeException) {
        throw RuntimeException("[${e.code}] ${e.message}", e)
    }

    private fun Promise.asBridgePromise() = object : BridgePromise {
        override fun resolve(data: Map<String, Any?>?) = this@asBridgePromise.resolve(data?.let(::toWritableMap))

        // React Native wants string codes; JS turns them back into numbers.
        override fun reject(code: Int, message: String) = this@asBridgePromise.reject(code.toString(), message)
    }

    companion object {
        @Volatile private var loaded = false

        /**
         * Loads libnatter.so through the JVM before JNA binds it, so that JNI_OnLoad runs and the
         * Rust runtime's worker threads attach to the JVM once instead of on every callback.
         * Also installs logcat logging and the panic hook (idempotent, in Rust).
         */
        @Synchronized
        fun loadNativeLibrary() {
            if (loaded) return
            try {
                System.loadLibrary("natter")
            } catch (e: UnsatisfiedLinkError) {
                android.util.Log.w("natter", "System.loadLibrary(natter) failed; JNA will load it: $e")
            }
            loaded = true
        }

        fun toWritableMap(map: Map<String, Any?>): WritableMap {
            val out = Arguments.createMap()
            for ((key, value) in map) {
                when (value) {
                    null -> out.putNull(key)
                    is Boolean -> out.putBoolean(key, value)
                    is Int -> out.putInt(key, value)
                    is Long -> out.putDouble(key, value.toDouble())
                    is Number -> out.putDouble(key, value.toDouble())
                    is String -> out.putString(key, value)
                    is Map<*, *> -> {
                        @Suppress("UNCHECKED_CAST")
                        out.putMap(key, toWritableMap(value as Map<String, Any?>))
                    }
                    else -> out.putString(key, value.toString())
                }
            }
            return out
        }
    }
}
