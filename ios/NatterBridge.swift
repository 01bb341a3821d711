// The iOS React Native module's marshalling between the TurboModule contract
// (js/src/NativeNatter.ts) and the Rust Hub, free of React Native and UIKit so that it compiles
// and is tested on Linux too (swift-tests/). Every rule (option validation, call order, event
// order, queueing until JS listens) lives in Rust; this file only copies values. NatterImpl.swift
// and Natter.mm hand these dictionaries to React Native. The Kotlin twin is
// android/.../NatterBridge.kt.
import Foundation
#if canImport(Natter)
// SwiftPM (tests): the generated bindings are their own module. In the pod they are compiled
// into the same module as this file.
import Natter
#endif

/// One module instance's Hub: each method is a synchronous pass-through.
public final class NatterBridge: Sendable {
    /// Receives each item as the contract's `NatterItem` (on Natter's runtime thread).
    public typealias Emit = @Sendable ([String: Any]) -> Void

    private let hub: Hub

    public init(hub: Hub = Hub()) {
        self.hub = hub
    }

    /// Starts delivery: items the hub queued while nobody listened come first, in order.
    public func attach(_ emit: @escaping Emit) {
        hub.setSink(sink: Emitter(emit))
    }

    /// Stops delivery; the hub queues items again until the next `attach`.
    public func detach() {
        hub.clearSink()
    }

    /// `["instanceId": id]`, or `["code", "message"]` for options Rust refused: never throws.
    public func create(_ options: [String: Any]) -> [String: Any] {
        do {
            return ["instanceId": try hub.create(options: Self.instanceOptions(options))]
        } catch {
            return Self.errorDictionary(error)
        }
    }

    public func login(_ instanceId: String, userId: String, userSig: String) -> Double {
        Double(hub.login(instanceId: instanceId, userId: userId, userSig: userSig))
    }

    public func logout(_ instanceId: String) -> Double {
        Double(hub.logout(instanceId: instanceId))
    }

    public func destroy(_ instanceId: String) -> Double {
        Double(hub.destroy(instanceId: instanceId))
    }

    public func isReady(_ instanceId: String) -> Bool {
        hub.isReady(instanceId: instanceId)
    }

    public func getLoginUser(_ instanceId: String) -> String {
        hub.loginUser(instanceId: instanceId)
    }

    public func getServerTime(_ instanceId: String) -> Double {
        hub.serverTimeMs(instanceId: instanceId)
    }

    /// `[:]`, or `["code", "message"]` for a level Rust refused (not a whole number 0…4: 9001).
    public func setLogLevel(_ level: Double) -> [String: Any] {
        do {
            try hub.setLogLevel(level: level)
            return [:]
        } catch {
            return Self.errorDictionary(error)
        }
    }

    /// Natter `updateUserSig`: the call id; the outcome arrives as a `settled` item.
    public func updateUserSig(_ instanceId: String, userSig: String) -> Double {
        Double(hub.updateUserSig(instanceId: instanceId, userSig: userSig))
    }

    /// Answers a `userSigNeeded {requestId}` item: `ok` → `value` is the sig, else the provider's error.
    public func provideUserSig(_ requestId: Double, ok: Bool, value: String) -> Bool {
        hub.provideUserSig(requestId: UInt64(max(0, requestId)), userSig: ok ? value : nil, error: ok ? nil : value)
    }

    /// `[:]`, or `["code", "message"]` (9001 for a state other than active/background, 9002 unknown id).
    public func setAppState(_ instanceId: String, state: String) -> [String: Any] {
        do {
            try hub.setAppState(instanceId: instanceId, state: state)
            return [:]
        } catch {
            return Self.errorDictionary(error)
        }
    }

    /// `[:]`, or `["code", "message"]` (9002 unknown id).
    public func setNetworkReachable(_ instanceId: String, reachable: Bool) -> [String: Any] {
        do {
            try hub.setNetworkReachable(instanceId: instanceId, reachable: reachable)
            return [:]
        } catch {
            return Self.errorDictionary(error)
        }
    }

    /// `getSessionState()` as the JSON text Rust wrote.
    public func getSessionState(_ instanceId: String) -> String {
        hub.sessionState(instanceId: instanceId)
    }

    /// The JS option names of `create()`: numbers copied as doubles, strings as strings.
    public static func instanceOptions(_ js: [String: Any]) -> InstanceOptions {
        func number(_ key: String) -> Double? {
            // JS numbers arrive as NSNumber; a JS boolean is an NSNumber too but not a number.
            guard let n = js[key] as? NSNumber, !isBoolean(n) else { return nil }
            return n.doubleValue
        }
        return InstanceOptions(
            sdkAppId: number("SDKAppID"),
            proxyServer: js["proxyServer"] as? String,
            platform: js["platform"] as? String,
            heartbeatIntervalMs: number("heartbeatIntervalMs"),
            requestTimeoutMs: number("requestTimeoutMs"),
            loginTimeoutMs: number("loginTimeoutMs"),
            reconnectMinDelayMs: number("reconnectMinDelayMs"),
            reconnectMaxDelayMs: number("reconnectMaxDelayMs"),
            extraRootCertsPem: js["extraRootCertsPem"] as? String,
            probeTimeoutMs: number("probeTimeoutMs"),
            // A flag the TS layer sets to `true` (a Bool on Linux, an NSNumber on Darwin: both cast).
            userSigProvider: js["userSigProvider"] as? Bool
        )
    }

    /// A `HubItem` as the contract's `NatterItem`.
    public static func itemDictionary(_ item: HubItem) -> [String: Any] {
        switch item {
        case let .event(instanceId, name, dataJson):
            return ["kind": "event", "instanceId": instanceId, "name": name, "data": dataJson]
        case let .settled(callId, .ok(dataJson)):
            return ["kind": "settled", "callId": Double(callId), "ok": true, "data": dataJson]
        case let .settled(callId, .err(code, message)):
            return ["kind": "settled", "callId": Double(callId), "ok": false, "code": Int(code), "message": message]
        }
    }

    /// `["code", "message"]` of an error a binding call threw.
    static func errorDictionary(_ error: Error) -> [String: Any] {
        guard let e = error as? ChatError else {
            return ["code": 9003, "message": "internal error: \(error)"]
        }
        // Every variant carries its code and detail; the base type reads them (Rust's `ChatError::code`/`detail`).
        return ["code": Int(e.code()), "message": e.detail()]
    }

    private static func isBoolean(_ n: NSNumber) -> Bool {
        #if canImport(ObjectiveC)
        return CFGetTypeID(n) == CFBooleanGetTypeID()
        #else
        return false
        #endif
    }

    /// The hub's sink: hands each item to `emit`. Called on Natter's runtime thread, never under a lock.
    private final class Emitter: HubSink {
        let emit: Emit
        init(_ emit: @escaping Emit) {
            self.emit = emit
        }

        func onItem(item: HubItem) {
            emit(NatterBridge.itemDictionary(item))
        }
    }
}
