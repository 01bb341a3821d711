// Thin Objective-C-visible glue between Natter.mm (the TurboModule) and NatterBridge.swift:
// it only converts Swift types into what Objective-C++ can call. No logic lives here.
// iOS only (needs the Objective-C runtime); NatterBridge.swift carries every rule and is tested
// on Linux.
#if canImport(ObjectiveC)
import Foundation

@objc(NatterImpl)
public final class NatterImpl: NSObject {
    private let bridge = NatterBridge()

    /// Starts emitting to JS, first flushing events queued before JS looked the module up.
    @objc public func attach(sink: @escaping (String, String, [String: Any]) -> Void) {
        bridge.events.attach(sink)
    }

    @objc public func detach() {
        bridge.events.detach()
    }

    /// Throws an NSError whose `code` is the Natter code (Natter.mm turns it into "[code] text").
    @objc public func createInstance(_ options: [String: Any]) throws -> String {
        try bridge.createInstance(options)
    }

    @objc public func login(_ instanceId: String, userId: String, userSig: String,
                            resolve: @escaping ([String: Any]?) -> Void,
                            reject: @escaping (Int, String) -> Void) {
        bridge.login(instanceId, userId: userId, userSig: userSig, resolve: resolve, reject: reject)
    }

    @objc public func logout(_ instanceId: String, resolve: @escaping ([String: Any]?) -> Void,
                             reject: @escaping (Int, String) -> Void) {
        bridge.logout(instanceId, resolve: resolve, reject: reject)
    }

    @objc public func destroy(_ instanceId: String, resolve: @escaping ([String: Any]?) -> Void,
                              reject: @escaping (Int, String) -> Void) {
        bridge.destroy(instanceId, resolve: resolve, reject: reject)
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

    @objc public func setLogLevel(_ level: Int) throws {
        try bridge.setLogLevel(level)
    }

    @objc public func invalidate() {
        bridge.invalidate()
    }
}
#endif
