// The generated Swift bindings (the public ChatClient) against the real cdylib and a real server:
// calls settle in the reference order relative to their events; every error code reachable from
// Swift, panics as errors.
import Foundation
import Natter
import XCTest

/// A listener that records every event it receives (called on Natter's runtime threads).
final class Recorder: ChatListener, @unchecked Sendable {
    let events = Waiter<ChatEvent>()
    func onEvent(event: ChatEvent) { events.append(event) }

    /// The next event that is not a net-state change.
    func nextNonNet(file: StaticString = #filePath, line: UInt = #line) -> ChatEvent? {
        while let e = events.next(file: file, line: line) {
            if case .netStateChange = e { continue }
            return e
        }
        return nil
    }
}

/// The code of a binding error, read on the base type; checks that the base type's `code()` and
/// `detail()` are the variant's own fields.
func code(of error: Error, file: StaticString = #filePath, line: UInt = #line) -> Int32? {
    guard let e = error as? ChatError else { return nil }
    let (code, detail) = fields(of: e)
    XCTAssertEqual(e.code(), code, file: file, line: line)
    XCTAssertEqual(e.detail(), detail, file: file, line: line)
    XCTAssertFalse(e.detail().isEmpty, file: file, line: line)
    return e.code()
}

/// The variant's own fields, by matching every case (what `code()`/`detail()` spare a caller).
func fields(of e: ChatError) -> (Int32, String) {
    switch e {
    case let .NoSdkAppId(code, detail), let .NoUserId(code, detail), let .NoUserSig(code, detail),
         let .NotLoggedIn(code, detail), let .LoginInProgress(code, detail), let .Network(code, detail),
         let .Timeout(code, detail), let .Server(code, detail), let .InvalidArgument(code, detail),
         let .Destroyed(code, detail), let .Internal(code, detail):
        return (code, detail)
    }
}

/// Runs an async binding call that must fail with `expected`.
func expectCode(_ expected: Int32, file: StaticString = #filePath, line: UInt = #line,
                _ body: @escaping @Sendable () async throws -> Void) {
    do {
        try blocking(body)
        XCTFail("expected error \(expected), got success", file: file, line: line)
    } catch {
        XCTAssertEqual(code(of: error, file: file, line: line), expected, "\(error)", file: file, line: line)
    }
}

func config(_ server: TestServer, _ platform: Platform = .web) -> ChatConfig {
    ChatConfig(sdkAppId: server.sdkAppId, serverUrl: server.wsURL, platform: platform, heartbeatIntervalMs: nil,
               requestTimeoutMs: 5000, loginTimeoutMs: 10000, reconnectMinDelayMs: nil, reconnectMaxDelayMs: nil)
}

final class BindingsTests: XCTestCase {
    func testLoginResolvesThenSdkReadyAndLogoutAndDestroyFollowTheReferenceOrder() throws {
        let server = try TestServer()
        let client = try ChatClient(config: config(server))
        let recorder = Recorder()
        _ = client.addListener(listener: recorder)
        XCTAssertFalse(client.isReady())
        XCTAssertEqual(client.loginUser(), "")

        let sig = try TestServer.userSig("alice")
        let result = try blocking { try await client.login(userId: "alice", userSig: sig) }
        XCTAssertFalse(result.repeatLogin)
        XCTAssertTrue(client.isReady(), "getters are true as soon as login returns")
        XCTAssertEqual(client.loginUser(), "alice")
        XCTAssertEqual(recorder.events.next(), .netStateChange(state: .connecting, reason: .login, retryInMs: nil))
        XCTAssertEqual(recorder.events.next(), .netStateChange(state: .connected, reason: .loggedIn, retryInMs: nil))
        XCTAssertEqual(recorder.events.next(), .sdkReady)

        let repeated = try blocking { try await client.login(userId: "bob", userSig: "anything") }
        XCTAssertTrue(repeated.repeatLogin)
        XCTAssertTrue(repeated.errorInfo?.contains("alice") ?? false)

        try blocking { try await client.logout() }
        // logout resolves only after its events were delivered: they are there without waiting.
        XCTAssertEqual(recorder.events.drain(), [.sdkNotReady, .netStateChange(state: .disconnected, reason: .loggedOut, retryInMs: nil)])
        XCTAssertFalse(client.isReady())

        try blocking { try await client.destroy() }
        XCTAssertEqual(recorder.events.drain(), [.sdkDestroy], "destroy resolves after SDK_DESTROY was delivered")
        expectCode(9002) { _ = try await client.login(userId: "alice", userSig: "s") }
        try blocking { try await client.destroy() } // harmless twice
        XCTAssertTrue(recorder.events.drain().isEmpty, "nothing after SDK_DESTROY")
    }

    func testEveryErrorCodeReachableFromSwift() throws {
        let server = try TestServer()
        var noApp = config(server)
        noApp.sdkAppId = 0
        XCTAssertThrowsError(try ChatClient(config: noApp)) { XCTAssertEqual(code(of: $0), 2000) }
        var bad = config(server)
        bad.serverUrl = "http://127.0.0.1/ws"
        XCTAssertThrowsError(try ChatClient(config: bad)) { XCTAssertEqual(code(of: $0), 9001) }

        let client = try ChatClient(config: config(server))
        expectCode(2002) { _ = try await client.login(userId: "", userSig: "sig") }
        expectCode(2003) { _ = try await client.login(userId: "alice", userSig: "") }
        expectCode(2024) { try await client.logout() }
        expectCode(70003) { _ = try await client.login(userId: "alice", userSig: "garbage") }
        let mallory = try TestServer.userSig("mallory")
        expectCode(70013) { _ = try await client.login(userId: "alice", userSig: mallory) }

        // Port 9 (discard) has no listener here: connection refused.
        var refused = config(server)
        refused.serverUrl = "ws://127.0.0.1:9/ws"
        let offline = try ChatClient(config: refused)
        expectCode(2800) { _ = try await offline.login(userId: "alice", userSig: "sig") }

        XCTAssertThrowsError(try setLogLevel(level: 7)) { XCTAssertEqual(code(of: $0), 9001) }
        try setLogLevel(level: 4)
        // A Rust panic surfaces as an error (9003) instead of aborting the app.
        expectCode(9003) { try await debugPanic(inFuture: false) }
        expectCode(9003) { try await debugPanic(inFuture: true) }
        try blocking { try await client.destroy() }
        try blocking { try await offline.destroy() }
    }
}
