// All the logic of the iOS React Native module, free of React Native and UIKit so that it
// compiles and is tested on Linux too (swift-tests/). NatterImpl.swift and Natter.mm only convert
// values and emit. The Kotlin twin is android/.../NatterBridge.kt; keep the two in step.
import Foundation
#if canImport(Natter)
// SwiftPM (tests): the generated bindings are their own module. In the pod they are compiled
// into the same module as this file.
import Natter
#endif

/// Natter's own codes for bridge-level failures (compat.md codes come from Rust).
public enum NatterBridgeCode {
    public static let noSdkAppId = 2000
    public static let invalidArgument = 9001
    public static let instanceDestroyed = 9002
    public static let `internal` = 9003
}

/// A coded failure of a synchronous bridge call (the glue turns it into a JS error whose message
/// starts with "[code]", the convention of the TurboModule contract).
public struct NatterBridgeError: Error, Equatable, CustomNSError, LocalizedError {
    public let code: Int
    public let message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public static var errorDomain: String { "dev.natter" }
    public var errorCode: Int { code }
    public var errorDescription: String? { message }
}

/// Receives `{instanceId, name, data}` events (the glue emits them to JS as `onNatterEvent`).
public typealias NatterEventSink = (_ instanceId: String, _ name: String, _ data: [String: Any]) -> Void

/// Orders and holds events until a sink is attached. Every event of every instance goes through
/// one serial queue, so events keep the order Rust raised them in, none are lost while no sink is
/// attached (they queue, then flush in order on `attach`), and the sink is only ever called on
/// that queue (never on a Rust thread, never under a lock).
public final class NatterEventGate: @unchecked Sendable {
    private let queue = DispatchQueue(label: "dev.natter.events")
    // Touched only on `queue`.
    private var sink: NatterEventSink?
    private var pending: [(String, String, [String: Any])] = []

    public init() {}

    public func emit(_ instanceId: String, _ name: String, _ data: [String: Any]) {
        queue.async {
            if let sink = self.sink {
                sink(instanceId, name, data)
            } else {
                self.pending.append((instanceId, name, data))
            }
        }
    }

    /// Starts delivery to `sink`, first flushing what was queued.
    public func attach(_ sink: @escaping NatterEventSink) {
        queue.async {
            self.sink = sink
            let queued = self.pending
            self.pending.removeAll()
            for (id, name, data) in queued {
                sink(id, name, data)
            }
        }
    }

    /// Stops delivery; later events queue again.
    public func detach() {
        queue.async { self.sink = nil }
    }

    /// Waits until every event posted so far was handled (tests, shutdown). Blocks the caller:
    /// never call it from Swift concurrency's cooperative pool.
    @discardableResult
    public func flush(timeout: TimeInterval = 10) -> Bool {
        let done = DispatchSemaphore(value: 0)
        queue.async { done.signal() }
        return done.wait(timeout: .now() + timeout) == .success
    }
}

/// The instance registry behind the TurboModule: `createInstance` returns an instance id, every
/// other call takes it. Promise methods run as Swift tasks that never block a thread; events of
/// each instance fan out through `events` tagged with its instance id.
public final class NatterBridge: @unchecked Sendable {
    public typealias Resolve = ([String: Any]?) -> Void
    public typealias Reject = (_ code: Int, _ message: String) -> Void

    public let events: NatterEventGate
    private let lock = NSLock()
    private var instances: [String: Instance] = [:]

    private final class Instance {
        let client: ChatClient
        let fanout: Fanout
        init(client: ChatClient, fanout: Fanout) {
            self.client = client
            self.fanout = fanout
        }
    }

    public init(events: NatterEventGate = NatterEventGate()) {
        self.events = events
    }

    public var instanceCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return instances.count
    }

    /// Validates `options` (the JS `NatterCreateOptions`) and creates an instance.
    public func createInstance(_ options: [String: Any]) throws -> String {
        guard let sdkAppId = (options["sdkAppId"] as? NSNumber)?.int64Value, sdkAppId > 0 else {
            throw NatterBridgeError(code: NatterBridgeCode.noSdkAppId, message: "sdkAppId is missing or not a positive number")
        }
        guard let serverUrl = options["serverUrl"] as? String else {
            throw NatterBridgeError(code: NatterBridgeCode.invalidArgument, message: "serverUrl is missing")
        }
        let platformName = options["platform"] as? String ?? "web"
        guard let platform = Self.platforms[platformName] else {
            throw NatterBridgeError(code: NatterBridgeCode.invalidArgument, message: "unknown platform \"\(platformName)\"")
        }
        let config = ChatConfig(
            sdkAppId: UInt64(sdkAppId),
            serverUrl: serverUrl,
            platform: platform,
            heartbeatIntervalMs: try Self.millis(options, "heartbeatIntervalMs"),
            requestTimeoutMs: try Self.millis(options, "requestTimeoutMs"),
            loginTimeoutMs: try Self.millis(options, "loginTimeoutMs"),
            reconnectMinDelayMs: nil,
            reconnectMaxDelayMs: nil
        )
        let client: ChatClient
        do {
            client = try ChatClient(config: config)
        } catch {
            throw Self.bridgeError(error)
        }
        let id = client.instanceId()
        let fanout = Fanout(instanceId: id, sdkAppId: sdkAppId, events: events)
        _ = client.addListener(listener: fanout)
        lock.lock()
        instances[id] = Instance(client: client, fanout: fanout)
        lock.unlock()
        return id
    }

    public func login(_ instanceId: String, userId: String, userSig: String, resolve: @escaping Resolve, reject: @escaping Reject) {
        call(instanceId, resolve, reject) { client in
            let r = try await client.login(userId: userId, userSig: userSig)
            var data: [String: Any] = ["repeatLogin": r.repeatLogin]
            if let info = r.errorInfo { data["errorInfo"] = info }
            return data
        }
    }

    public func logout(_ instanceId: String, resolve: @escaping Resolve, reject: @escaping Reject) {
        call(instanceId, resolve, reject) { client in
            try await client.logout()
            return nil
        }
    }

    /// Destroys the instance (SDK_DESTROY is its last event) and forgets its id. Harmless twice.
    public func destroy(_ instanceId: String, resolve: @escaping Resolve, reject: @escaping Reject) {
        guard let instance = lookup(instanceId) else {
            resolve(nil)
            return
        }
        Task.detached {
            do {
                try await instance.client.destroy()
                // As the reference: SDK_DESTROY has been emitted when the promise resolves.
                await instance.fanout.waitDestroyed(timeout: 5)
                self.forget(instanceId)
                resolve(nil)
            } catch {
                self.forget(instanceId)
                let e = Self.bridgeError(error)
                reject(e.code, e.message)
            }
        }
    }

    public func isReady(_ instanceId: String) -> Bool {
        lookup(instanceId)?.client.isReady() ?? false
    }

    public func getLoginUser(_ instanceId: String) -> String {
        lookup(instanceId)?.client.loginUser() ?? ""
    }

    /// Server clock in ms; the local clock for an unknown or destroyed instance.
    public func getServerTime(_ instanceId: String) -> Double {
        if let client = lookup(instanceId)?.client {
            return Double(client.serverTimeMs())
        }
        return (Date().timeIntervalSince1970 * 1000).rounded()
    }

    public func setLogLevel(_ level: Int) throws {
        do {
            try natterSetLogLevel(Int32(clamping: level))
        } catch {
            throw Self.bridgeError(error)
        }
    }

    /// The module is going away (RN `invalidate`): destroy every instance and wait for them.
    /// Blocks the caller (RN calls it on the module's queue, not on the cooperative pool).
    public func invalidate() {
        lock.lock()
        let ids = Array(instances.keys)
        lock.unlock()
        let group = DispatchGroup()
        for id in ids {
            group.enter()
            destroy(id, resolve: { _ in group.leave() }, reject: { _, _ in group.leave() })
        }
        _ = group.wait(timeout: .now() + 5)
        events.flush()
    }

    // MARK: - internals

    private func lookup(_ instanceId: String) -> Instance? {
        lock.lock()
        defer { lock.unlock() }
        return instances[instanceId]
    }

    private func forget(_ instanceId: String) {
        lock.lock()
        instances.removeValue(forKey: instanceId)
        lock.unlock()
    }

    private func call(_ instanceId: String, _ resolve: @escaping Resolve, _ reject: @escaping Reject,
                      _ body: @escaping (ChatClient) async throws -> [String: Any]?) {
        guard let instance = lookup(instanceId) else {
            reject(NatterBridgeCode.instanceDestroyed, "no Natter instance \"\(instanceId)\" (destroyed, or never created)")
            return
        }
        Task.detached {
            do {
                resolve(try await body(instance.client))
            } catch {
                let e = Self.bridgeError(error)
                reject(e.code, e.message)
            }
        }
    }

    static let platforms: [String: Platform] = [
        "web": .web, "android": .android, "ios": .ios, "ipad": .ipad,
        "windows": .windows, "mac": .mac, "linux": .linux,
    ]

    private static func millis(_ options: [String: Any], _ key: String) throws -> UInt64? {
        guard let value = options[key] else { return nil }
        guard let n = (value as? NSNumber)?.doubleValue, n > 0, n.isFinite, n <= 9.0e15 else {
            throw NatterBridgeError(code: NatterBridgeCode.invalidArgument, message: "\(key) must be a positive number of milliseconds")
        }
        return UInt64(n)
    }

    /// The coded form of any error a binding call can throw.
    static func bridgeError(_ error: Error) -> NatterBridgeError {
        if let e = error as? NatterBridgeError {
            return e
        }
        guard let e = error as? ChatError else {
            return NatterBridgeError(code: NatterBridgeCode.internal, message: "internal error: \(error)")
        }
        switch e {
        case let .NoSdkAppId(code, detail), let .NoUserId(code, detail), let .NoUserSig(code, detail),
             let .NotLoggedIn(code, detail), let .LoginInProgress(code, detail), let .Network(code, detail),
             let .Timeout(code, detail), let .Server(code, detail), let .InvalidArgument(code, detail),
             let .Destroyed(code, detail), let .Internal(code, detail):
            return NatterBridgeError(code: Int(code), message: detail)
        }
    }

    /// The reference SDK's `data` payload of `event` (compat.md).
    static func eventData(_ event: ChatEvent, sdkAppId: Int64) -> [String: Any] {
        switch event {
        case let .kickedOut(kickType): return ["type": kickTypeValue(kickType: kickType)]
        case let .netStateChange(state): return ["state": netStateValue(state: state)]
        case let .error(code, detail): return ["code": Int(code), "message": detail]
        case .sdkDestroy: return ["SDKAppID": sdkAppId]
        case .sdkReady, .sdkNotReady: return [:]
        }
    }

    /// Resumes a continuation at most once, whoever comes first (the event or the timeout).
    private final class ResumeOnce: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Void, Never>?

        init(_ c: CheckedContinuation<Void, Never>) {
            continuation = c
        }

        func resume() {
            lock.lock()
            let c = continuation
            continuation = nil
            lock.unlock()
            c?.resume()
        }
    }

    /// Turns one instance's events into `{instanceId, name, data}` with the reference payloads.
    private final class Fanout: ChatListener, @unchecked Sendable {
        let instanceId: String
        let sdkAppId: Int64
        let events: NatterEventGate
        private let lock = NSLock()
        private var destroyed = false
        private var waiters: [ResumeOnce] = []

        init(instanceId: String, sdkAppId: Int64, events: NatterEventGate) {
            self.instanceId = instanceId
            self.sdkAppId = sdkAppId
            self.events = events
        }

        func onEvent(event: ChatEvent) {
            events.emit(instanceId, eventName(event: event), NatterBridge.eventData(event, sdkAppId: sdkAppId))
            if case .sdkDestroy = event {
                lock.lock()
                destroyed = true
                let ready = waiters
                waiters.removeAll()
                lock.unlock()
                ready.forEach { $0.resume() }
            }
        }

        /// Suspends (never blocks a thread) until SDK_DESTROY was seen, or `timeout` passed.
        func waitDestroyed(timeout: TimeInterval) async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let once = ResumeOnce(c)
                lock.lock()
                if destroyed {
                    lock.unlock()
                    once.resume()
                    return
                }
                waiters.append(once)
                lock.unlock()
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { once.resume() }
            }
        }
    }
}

/// The generated free function, under a name that cannot clash with the bridge's own method.
private func natterSetLogLevel(_ level: Int32) throws {
    try setLogLevel(level: level)
}
