// The iOS module's logic (ios/NatterBridge.swift) without React Native: instance registry,
// promise mapping, reference payloads, and events queued until JS attaches.
import Foundation
import Natter
import NatterBridge
import XCTest

/// Promise outcome of a bridge call.
enum Outcome {
    case resolved([String: Any]?)
    case rejected(Int, String)

    var code: Int? {
        if case let .rejected(code, _) = self { return code }
        return nil
    }
}

/// Calls a promise-style bridge method and waits for its outcome.
func outcome(_ start: (@escaping NatterBridge.Resolve, @escaping NatterBridge.Reject) -> Void) -> Outcome? {
    let w = Waiter<Outcome>()
    start({ w.append(.resolved($0)) }, { w.append(.rejected($0, $1)) })
    return w.next()
}

struct Emitted {
    let instanceId: String
    let name: String
    let data: [String: Any]
}

final class BridgeTests: XCTestCase {
    func options(_ server: TestServer, _ platform: String = "web") -> [String: Any] {
        ["sdkAppId": NSNumber(value: server.sdkAppId), "serverUrl": server.wsURL, "platform": platform,
         "requestTimeoutMs": NSNumber(value: 5000)]
    }

    func testEventsRaisedBeforeJsAttachesAreQueuedThenFlushedInOrder() throws {
        let server = try TestServer()
        let bridge = NatterBridge()
        let id = try bridge.createInstance(options(server))
        let sig = try TestServer.userSig("alice")
        guard case let .resolved(data)? = outcome({ bridge.login(id, userId: "alice", userSig: sig, resolve: $0, reject: $1) }) else {
            return XCTFail("login failed")
        }
        XCTAssertEqual(data?["repeatLogin"] as? Bool, false)
        XCTAssertTrue(bridge.isReady(id))
        XCTAssertEqual(bridge.getLoginUser(id), "alice")
        guard case .resolved? = outcome({ bridge.destroy(id, resolve: $0, reject: $1) }) else { return XCTFail("destroy") }

        // Nobody was attached: everything waited in the gate, and now arrives in order, once.
        let seen = Waiter<Emitted>()
        bridge.events.attach { seen.append(Emitted(instanceId: $0, name: $1, data: $2)) }
        let got = (0..<6).compactMap { _ in seen.next() }
        XCTAssertEqual(got.map(\.name), ["netStateChange", "netStateChange", "sdkStateReady", "sdkStateNotReady",
                                         "netStateChange", "sdkDestroy"])
        XCTAssertEqual(got.compactMap { $0.data["state"] as? String }, ["connecting", "connected", "disconnected"])
        XCTAssertTrue(got.allSatisfy { $0.instanceId == id })
        XCTAssertTrue(bridge.events.flush())
        XCTAssertTrue(seen.drain().isEmpty, "no event twice")
        XCTAssertEqual(bridge.instanceCount, 0)
    }

    func testKickEventsCarryReferencePayloadsAndInstanceIds() throws {
        let server = try TestServer()
        let bridge = NatterBridge()
        let seen = Waiter<Emitted>()
        bridge.events.attach { seen.append(Emitted(instanceId: $0, name: $1, data: $2)) }
        let a = try bridge.createInstance(options(server))
        let b = try bridge.createInstance(options(server))
        XCTAssertNotEqual(a, b)
        let sig = try TestServer.userSig("alice")
        for id in [a, b] {
            guard case .resolved? = outcome({ bridge.login(id, userId: "alice", userSig: sig, resolve: $0, reject: $1) }) else {
                return XCTFail("login of \(id)")
            }
        }
        var kicked: Emitted?
        var afterKick: Emitted?
        while let e = seen.next() {
            if e.instanceId == a, e.name == "kickedOut" {
                kicked = e
                continue
            }
            if kicked != nil, e.instanceId == a, e.name != "netStateChange" {
                afterKick = e
                break
            }
        }
        XCTAssertEqual(kicked?.data["type"] as? String, "multipleAccount")
        XCTAssertEqual(afterKick?.name, "sdkStateNotReady")
        XCTAssertTrue(bridge.isReady(b))
        for id in [a, b] {
            _ = outcome { bridge.destroy(id, resolve: $0, reject: $1) }
        }
        XCTAssertTrue(bridge.events.flush())
        let destroyed = seen.drain().filter { $0.name == "sdkDestroy" }
        XCTAssertEqual(destroyed.count, 2)
        XCTAssertEqual(destroyed.first?.data["SDKAppID"] as? Int64, Int64(server.sdkAppId))
    }

    func testCodedErrorsForBadOptionsAndUnknownInstances() throws {
        let server = try TestServer()
        let bridge = NatterBridge()
        XCTAssertThrowsError(try bridge.createInstance(["serverUrl": server.wsURL])) {
            XCTAssertEqual(($0 as? NatterBridgeError)?.code, 2000)
        }
        var bad = options(server)
        bad["platform"] = "tablet"
        XCTAssertThrowsError(try bridge.createInstance(bad)) { XCTAssertEqual(($0 as? NatterBridgeError)?.code, 9001) }
        bad = options(server)
        bad["serverUrl"] = "ftp://x"
        XCTAssertThrowsError(try bridge.createInstance(bad)) { XCTAssertEqual(($0 as? NatterBridgeError)?.code, 9001) }
        bad = options(server)
        bad["loginTimeoutMs"] = NSNumber(value: -5)
        XCTAssertThrowsError(try bridge.createInstance(bad)) { XCTAssertEqual(($0 as? NatterBridgeError)?.code, 9001) }
        XCTAssertThrowsError(try bridge.setLogLevel(9)) { XCTAssertEqual(($0 as? NatterBridgeError)?.code, 9001) }
        XCTAssertEqual((NatterBridgeError(code: 9001, message: "m") as NSError).code, 9001, "NSError carries the code")

        XCTAssertEqual(outcome({ bridge.login("nope", userId: "a", userSig: "s", resolve: $0, reject: $1) })?.code, 9002)
        XCTAssertFalse(bridge.isReady("nope"))
        XCTAssertEqual(bridge.getLoginUser("nope"), "")
        XCTAssertGreaterThan(bridge.getServerTime("nope"), 1.7e12)

        let id = try bridge.createInstance(options(server))
        XCTAssertEqual(outcome({ bridge.login(id, userId: "", userSig: "s", resolve: $0, reject: $1) })?.code, 2002)
        XCTAssertEqual(outcome({ bridge.logout(id, resolve: $0, reject: $1) })?.code, 2024)
        XCTAssertEqual(outcome({ bridge.login(id, userId: "a", userSig: "garbage", resolve: $0, reject: $1) })?.code, 70003)
        bridge.invalidate()
        XCTAssertEqual(bridge.instanceCount, 0)
        XCTAssertEqual(outcome({ bridge.logout(id, resolve: $0, reject: $1) })?.code, 9002)
    }
}
