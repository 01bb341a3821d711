// The TurboModule "Natter": React Native glue over NatterBridge (which passes every call to the
// Rust Hub). It only converts ReadableMap/WritableMap and emits `onNatterItem`.
package dev.natter.reactnative

import com.facebook.react.bridge.Arguments
import com.facebook.react.bridge.CxxCallbackImpl
import com.facebook.react.bridge.ReactApplicationContext
import com.facebook.react.bridge.ReadableMap
import com.facebook.react.bridge.WritableMap
import com.facebook.react.module.annotations.ReactModule

@ReactModule(name = NativeNatterSpec.NAME)
class NatterModule(context: ReactApplicationContext) : NativeNatterSpec(context) {
    private val bridge: NatterBridge

    init {
        loadNativeLibrary()
        bridge = NatterBridge()
    }

    /**
     * React Native calls this when JS first looks the module up. Codegen's `emitOnNatterItem`
     * dereferences this callback and crashes when called earlier (react-native#57893), so the
     * sink is attached only here; until then the hub queues items and flushes them in order.
     */
    override fun setEventEmitterCallback(eventEmitterCallback: CxxCallbackImpl) {
        super.setEventEmitterCallback(eventEmitterCallback)
        bridge.attach { item -> emitOnNatterItem(toWritableMap(item)) }
    }

    override fun create(options: ReadableMap): WritableMap = toWritableMap(bridge.create(options.toHashMap()))

    override fun login(instanceId: String, userId: String, userSig: String): Double =
        bridge.login(instanceId, userId, userSig)

    override fun logout(instanceId: String): Double = bridge.logout(instanceId)

    override fun destroy(instanceId: String): Double = bridge.destroy(instanceId)

    override fun isReady(instanceId: String): Boolean = bridge.isReady(instanceId)

    override fun getLoginUser(instanceId: String): String = bridge.getLoginUser(instanceId)

    override fun getServerTime(instanceId: String): Double = bridge.getServerTime(instanceId)

    override fun setLogLevel(level: Double): WritableMap = toWritableMap(bridge.setLogLevel(level))

    override fun updateUserSig(instanceId: String, userSig: String): Double = bridge.updateUserSig(instanceId, userSig)

    override fun provideUserSig(requestId: Double, ok: Boolean, value: String): Boolean =
        bridge.provideUserSig(requestId, ok, value)

    override fun setAppState(instanceId: String, state: String): WritableMap =
        toWritableMap(bridge.setAppState(instanceId, state))

    override fun setNetworkReachable(instanceId: String, reachable: Boolean): WritableMap =
        toWritableMap(bridge.setNetworkReachable(instanceId, reachable))

    override fun getSessionState(instanceId: String): String = bridge.getSessionState(instanceId)

    override fun invalidate() {
        bridge.close()
        super.invalidate()
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

        /** The bridge's flat maps hold strings, booleans, ints and doubles only. */
        fun toWritableMap(map: Map<String, Any?>): WritableMap {
            val out = Arguments.createMap()
            for ((key, value) in map) {
                when (value) {
                    null -> out.putNull(key)
                    is String -> out.putString(key, value)
                    is Boolean -> out.putBoolean(key, value)
                    is Int -> out.putInt(key, value)
                    is Number -> out.putDouble(key, value.toDouble())
                    else -> out.putString(key, value.toString())
                }
            }
            return out
        }
    }
}
