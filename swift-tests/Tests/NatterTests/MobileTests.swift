// The mobile calls of the Swift API against a real natter-server: an async UserSigProvider
// renewing short sigs, updateUserSig refused for another user (70013), reachability with
// reasons, getSessionState; and the RN bridge's pass-through of the same calls.
import Foundation
import Natter
import NatterBridge
import XCTest

/// Mints a 4-second sig per call, counting the calls.
final class ShortSigs: UserSigProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var calls: Int { lock.withLock { count } }

    func fetchUserSig() async throws -> String {
        lock.withLock { count += 1 }
        return try TestServer.userSig("alice", expire: 4)
    }
}

final class MobileTests: XCTestCase {
    func testAnAsyncProviderRenewsShortSigsAndTheSessionNeverDrops() throws {
        let server = try TestServer()
        let provider = ShortSigs()
        let client = try ChatClient.withUserSigProvider(config: config(server), provider: provider)
        let recorder = Recorder()
        _ = client.addListener(listener: recorder)
        let sig = try TestServer.userSig("alice", expire: 4)
        _ = try blocking { try await client.login(userId: "alice", userSig: sig) }
        XCTAssertEqual(recorder.nextNonNet(), .sdkReady)
        let first = try XCTUnwrap(client.getSessionState().userSigExpireTimeMs)
        // Two lifetimes: without renewal the server kicks after the first (waiting is the test).
        XCTAssertNil(recorder.events.arrival(within: 8), "a renewed session sees no event")
        XCTAssertGreaterThanOrEqual(provider.calls, 2)
        let state = client.getSessionState()
        XCTAssertTrue(state.ready)
        XCTAssertEqual(state.netState, .connected)
        XCTAssertGreaterThan(try XCTUnwrap(state.userSigExpireTimeMs), first)
        try blocking { try await client.destroy() }
    }

    func testAnotherUsersSigIsRefusedWith70013AndTheSessionContinues() throws {
        let server = try TestServer()
        let client = try ChatClient(config: config(server, .ios))
        let alice = try TestServer.userSig("alice")
        _ = try blocking { try await client.login(userId: "alice", userSig: alice) }
        let bob = try TestServer.userSig("bob")
        expectCode(70013) { try await client.updateUserSig(userSig: bob) }
        XCTAssertTrue(client.isReady())
        try blocking { try await client.updateUserSig(userSig: alice) }
        try blocking { try await client.destroy() }
    }

    func testUnreachableDisconnectsAtOnceAndReachableReconnectsWithReasons() throws {
        let server = try TestServer()
        let client = try ChatClient(config: config(server, .ios))
        let recorder = Recorder()
        _ = client.addListener(listener: recorder)
        let sig = try TestServer.userSig("alice")
        _ = try blocking { try await client.login(userId: "alice", userSig: sig) }
        XCTAssertEqual(recorder.nextNonNet(), .sdkReady)
        client.setNetworkReachable(reachable: false)
        XCTAssertEqual(recorder.events.next(), .netStateChange(state: .disconnected, reason: .networkUnreachable, retryInMs: nil))
        let state = client.getSessionState()
        XCTAssertTrue(state.ready)
        XCTAssertEqual(state.netState, .disconnected)
        XCTAssertNil(state.nextRetryAtMs)
        client.setAppState(state: .background)
        client.setAppState(state: .active)
        XCTAssertNil(recorder.events.arrival(within: 0.5), "no attempt while unreachable")
        client.setNetworkReachable(reachable: true)
        XCTAssertEqual(recorder.events.next(), .netStateChange(state: .connecting, reason: .networkBack, retryInMs: nil))
        XCTAssertEqual(recorder.events.next(), .netStateChange(state: .connected, reason: .loggedIn, retryInMs: nil))
        XCTAssertEqual(client.getSessionState().reconnectAttempt, 0)
        try blocking { try await client.destroy() }
    }

    func testTheBridgePassesTheNewCallsThrough() throws {
        let bridge = NatterBridge()
        let created = bridge.create(["SDKAppID": 1_400_000_001, "proxyServer": "ws://127.0.0.1:1/ws",
                                     "probeTimeoutMs": 700, "userSigProvider": true])
        let id = try XCTUnwrap(created["instanceId"] as? String)
        XCTAssertEqual(bridge.setAppState(id, state: "asleep")["code"] as? Int, 9001)
        XCTAssertTrue(bridge.setAppState(id, state: "background").isEmpty)
        XCTAssertTrue(bridge.setNetworkReachable(id, reachable: false).isEmpty)
        XCTAssertEqual(bridge.setNetworkReachable("nope", reachable: true)["code"] as? Int, 9002)
        XCTAssertEqual(bridge.getSessionState(id),
                       #"{"loginUser":"","netState":"disconnected","ready":false,"reconnectAttempt":0}"#)
        XCTAssertGreaterThan(bridge.updateUserSig(id, userSig: "sig"), 0)
        XCTAssertFalse(bridge.provideUserSig(12345, ok: true, value: "sig"), "no such request")
        let o = NatterBridge.instanceOptions(["probeTimeoutMs": 700, "userSigProvider": true])
        XCTAssertEqual(o.probeTimeoutMs, 700)
        XCTAssertEqual(o.userSigProvider, true)
    }
}
