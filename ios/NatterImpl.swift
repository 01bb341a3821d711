// Objective-C-visible glue between Natter.mm (the TurboModule) and NatterBridge.swift: it only
// turns Swift types into what Objective-C++ can call. No logic lives here.
// iOS only (needs the Objective-C runtime); NatterBridge.swift is tested on Linux.
#if canImport(ObjectiveC)
import Foundation

@objc(NatterImpl)
public final class NatterImpl: NSObject {
    private let bridge = NatterBridge()

    /// Starts emitting to JS; the hub first flushes what it queued before JS looked the module up.
    @objc public func attach(emit: @escaping @Sendable ([String: Any]) -> Void) {
        bridge.attach(emit)
    }

    @objc public func detach() {
        bridge.detach()
    }

    @objc public func create(_ options: [String: Any]) -> [String: Any] {
        bridge.create(options)
    }

    @objc public func login(_ instanceId: String, userId: String, userSig: String) -> Double {
        bridge.login(instanceId, userId: userId, userSig: userSig)
    }

    @objc public func logout(_ instanceId: String) -> Double {
        bridge.logout(instanceId)
    }

    @objc public func destroy(_ instanceId: String) -> Double {
        bridge.destroy(instanceId)
    }

    @objc public func isReady(_ instanceId: String) -> Bool {
        bridge.isReady(instanceId)
    }

    @objc public func getLoginUser(_ instanceId: String) -> String {
        bridge.getLoginUser(instanceId)
    }

    @objc public func getServerTime(_ instanceId: String) -> Double {
        bridge.getServerTime(instanceId)
    }

    @objc public func setLogLevel(_ level: Double) -> [String: Any] {
        bridge.setLogLevel(level)
    }

    @objc public func updateUserSig(_ instanceId: String, userSig: String) -> Double {
        bridge.updateUserSig(instanceId, userSig: userSig)
    }

    @objc public func provideUserSig(_ requestId: Double, ok: Bool, value: String) -> Bool {
        bridge.provideUserSig(requestId, ok: ok, value: value)
    }

    @objc public func setAppState(_ instanceId: String, state: String) -> [String: Any] {
        bridge.setAppState(instanceId, state: state)
    }

    @objc public func setNetworkReachable(_ instanceId: String, reachable: Bool) -> [String: Any] {
        bridge.setNetworkReachable(instanceId, reachable: reachable)
    }

    @objc public func getSessionState(_ instanceId: String) -> String {
        bridge.getSessionState(instanceId)
    }
}
#endif
