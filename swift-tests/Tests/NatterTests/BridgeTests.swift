// The iOS module's marshalling (ios/NatterBridge.swift) over the Rust Hub, against a real
// server: the Hub's ordering contract as JS sees it (calls made in the same tick keep their
// order, settlements follow the events before them, items wait in Rust until JS attaches), and
// the glue (options, items, coded refusals).
import Foundation
import Natter
import NatterBridge
import XCTest

/// The JS side of `onNatterItem`: every item in arrival order.
final class JsItems: @unchecked Sendable {
    let items = Waiter<[String: Any]>()
    var emit: NatterBridge.Emit { { [items] in items.append($0) } }

    /// The items up to and including the settlement of every one of `callIds`.
    func untilSettled(_ callIds: Double..., file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
        var pending = Set(callIds)
        var out: [[String: Any]] = []
        while !pending.isEmpty {
            guard let item = items.next(file: file, line: line) else { return out }
            out.append(item)
            if item["kind"] as? String == "settled", let id = item["callId"] as? Double {
                pending.remove(id)
            }
        }
        return out
    }
}

/// `name data` for an event, `#callId ok data` / `#callId err code` for a settlement.
func show(_ item: [String: Any]) -> String {
    if item["kind"] as? String == "event" {
        return "\(item["name"] as? String ?? "?") \(item["data"] as? String ?? "?")"
    }
    let id = Int64(item["callId"] as? Double ?? -1)
    if item["ok"] as? Bool == true {
        return "#\(id) ok \(item["data"] as? String ?? "?")"
    }
    return "#\(id) err \(item["code"] as? Int ?? -1)"
}

// `reason` (a Natter addition) says why: a login connects, its acceptance connects, a logout ends.
let connecting = #"netStateChange {"reason":"login","state":"connecting"}"#
let connected = #"netStateChange {"reason":"loggedIn","state":"connected"}"#
let disconnected = #"netStateChange {"reason":"loggedOut","state":"disconnected"}"#
let ready = "sdkStateReady {}"
let notReady = "sdkStateNotReady {}"

func ok(_ id: Double, _ data: String = "{}") -> String { "#\(Int64(id)) ok \(data)" }
func loginOk(_ id: Double) -> String { ok(id, #"{"repeatLogin":false}"#) }
func err(_ id: Double, _ code: Int) -> String { "#\(Int64(id)) err \(code)" }

final class BridgeTests: XCTestCase {
    func options(_ server: TestServer, _ platform: String = "web") -> [String: Any] {
        ["SDKAppID": NSNumber(value: Double(server.sdkAppId)), "proxyServer": server.wsURL, "platform": platform]
    }

    func instance(_ bridge: NatterBridge, _ server: TestServer) throws -> String {
        let r = bridge.create(options(server))
        guard let id = r["instanceId"] as? String else {
            throw NSError(domain: "BridgeTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "create refused: \(r)"])
        }
        return id
    }

    func attached() -> (NatterBridge, JsItems) {
        let bridge = NatterBridge()
        let js = JsItems()
        bridge.attach(js.emit)
        return (bridge, js)
    }

    func testTwoLoginsInOneTickTheSecondNeverOvertakesTheFirst() throws {
        let server = try TestServer()
        let (bridge, js) = attached()
        let aliceSig = try TestServer.userSig("alice")
        let bobSig = try TestServer.userSig("bob")
        for round in 0..<5 {
            let id = try instance(bridge, server)
            let first = bridge.login(id, userId: "alice", userSig: aliceSig)
            let second = bridge.login(id, userId: "bob", userSig: bobSig)
            XCTAssertGreaterThan(second, first, "call ids follow call order")
            let both = js.untilSettled(first, second)
            XCTAssertEqual(bridge.getLoginUser(id), "alice", "round \(round)")
            let destroy = bridge.destroy(id)
            let all = (both + js.untilSettled(destroy)).map(show)
            guard let firstAt = all.firstIndex(where: { $0.hasPrefix("#\(Int64(first)) ") }),
                  let secondAt = all.firstIndex(where: { $0.hasPrefix("#\(Int64(second)) ") })
            else { return XCTFail("round \(round): \(all)") }
            XCTAssertEqual(all[firstAt], loginOk(first), "round \(round): \(all)")
            if all[secondAt].contains(" ok ") {
                XCTAssertGreaterThan(secondAt, firstAt, "round \(round): \(all)")
                XCTAssertTrue(all[secondAt].contains(#""repeatLogin":true"#), all[secondAt])
            } else {
                XCTAssertEqual(all[secondAt], err(second, 2025), "round \(round): \(all)")
            }
            XCTAssertEqual(all.filter { $0 == ready }.count, 1, "round \(round): \(all)")
            XCTAssertGreaterThan(all.firstIndex(of: ready) ?? -1, firstAt, "round \(round): \(all)")
            XCTAssertEqual(Array(all.suffix(4)),
                           [notReady, disconnected, #"sdkDestroy {"SDKAppID":\#(server.sdkAppId)}"#, ok(destroy)])
        }
    }

    func testLoginThenLogoutInOneTickRunInCallOrder() throws {
        let server = try TestServer()
        let (bridge, js) = attached()
        let id = try instance(bridge, server)
        let sig = try TestServer.userSig("alice")
        for round in 0..<3 {
            let login = bridge.login(id, userId: "alice", userSig: sig)
            let logout = bridge.logout(id)
            var all = js.untilSettled(login, logout).map(show)
            if !all.contains(ready), let next = js.items.next() { all.append(show(next)) }
            if let at = all.firstIndex(of: err(logout, 2024)) {
                // The usual case: the logout meets the login in flight, finds no session yet and
                // settles 2024, after the login started (connecting); the login goes on undisturbed.
                XCTAssertGreaterThan(at, all.firstIndex(of: connecting) ?? Int.max, "round \(round): \(all)")
                XCTAssertEqual(all.filter { $0 != err(logout, 2024) }, [connecting, connected, loginOk(login), ready],
                               "round \(round)")
                XCTAssertTrue(bridge.isReady(id))
                let after = bridge.logout(id)
                XCTAssertEqual(js.untilSettled(after).map(show), [notReady, disconnected, ok(after)], "round \(round)")
            } else {
                // The test thread was descheduled between the two calls for longer than a loopback
                // login: the logout then runs after it, still in call order.
                XCTAssertEqual(all, [connecting, connected, loginOk(login), ready, notReady, disconnected, ok(logout)],
                               "round \(round)")
            }
            XCTAssertFalse(bridge.isReady(id))
        }
    }

    func testDestroyRacingLogin() throws {
        let server = try TestServer()
        let (bridge, js) = attached()
        let sig = try TestServer.userSig("alice")
        let destroyed = #"sdkDestroy {"SDKAppID":\#(server.sdkAppId)}"#
        for round in 0..<3 {
            let id = try instance(bridge, server)
            let login = bridge.login(id, userId: "alice", userSig: sig)
            let destroy = bridge.destroy(id)
            let all = js.untilSettled(login, destroy).map(show)
            if all.contains(loginOk(login)) {
                // The test thread was descheduled between the calls for longer than a loopback
                // login: the destroy then logs the session out first, still in call order.
                XCTAssertEqual(all, [connecting, connected, loginOk(login), ready, notReady, disconnected, destroyed,
                                     ok(destroy)], "round \(round)")
            } else {
                // The usual case: the destroy ends the login in flight (9002), which settles before
                // SDK_DESTROY, the instance's last event, which comes before the destroy settles.
                guard let loginAt = all.firstIndex(of: err(login, 9002)) else { return XCTFail("round \(round): \(all)") }
                XCTAssertEqual(Array(all.suffix(2)), [destroyed, ok(destroy)], "round \(round): \(all)")
                XCTAssertLessThan(loginAt, all.firstIndex(of: destroyed) ?? -1, "round \(round): \(all)")
                XCTAssertEqual(all.filter { $0 == destroyed }.count, 1)
            }
            let again = bridge.login(id, userId: "alice", userSig: sig)
            XCTAssertEqual(js.untilSettled(again).map(show), [err(again, 9002)])
        }
    }

    func testItemsBeforeAttachArriveInOrderAfterIt() throws {
        let server = try TestServer()
        let bridge = NatterBridge() // JS has not looked the module up yet
        let id = try instance(bridge, server)
        let login = bridge.login(id, userId: "alice", userSig: try TestServer.userSig("alice"))
        XCTAssertTrue(waitUntil { bridge.isReady(id) }, "login done")
        let js = JsItems()
        bridge.attach(js.emit)
        XCTAssertEqual(js.untilSettled(login).map(show), [connecting, connected, loginOk(login)])
        XCTAssertEqual(js.items.next().map(show), ready)

        // Detached again (a JS reload): items wait in Rust until the next attach.
        bridge.detach()
        let logout = bridge.logout(id)
        XCTAssertTrue(waitUntil { !bridge.isReady(id) }, "logout done")
        let reloaded = JsItems()
        bridge.attach(reloaded.emit)
        XCTAssertEqual(reloaded.untilSettled(logout).map(show), [notReady, disconnected, ok(logout)])
        XCTAssertTrue(js.items.drain().isEmpty, "the detached sink got nothing more")
    }

    func testEverySettlementFollowsTheEventsEmittedBeforeIt() throws {
        let server = try TestServer()
        let (bridge, js) = attached()
        let id = try instance(bridge, server)
        for i in 0..<3 {
            let login = bridge.login(id, userId: "user\(i)", userSig: try TestServer.userSig("user\(i)"))
            XCTAssertEqual(js.untilSettled(login).map(show), [connecting, connected, loginOk(login)])
            XCTAssertEqual(js.items.next().map(show), ready)
            let logout = bridge.logout(id)
            XCTAssertEqual(js.untilSettled(logout).map(show), [notReady, disconnected, ok(logout)])
        }
        let destroy = bridge.destroy(id)
        XCTAssertEqual(js.untilSettled(destroy).map(show), [#"sdkDestroy {"SDKAppID":\#(server.sdkAppId)}"#, ok(destroy)])
    }

    func testReleasingTheBridgeReleasesItsInstancesOnTheServer() throws {
        // RN's invalidate() drops the module's NatterImpl: the hub goes, and with it every session.
        let server = try TestServer()
        let sig = try TestServer.userSig("alice")
        func status() throws -> String? {
            let reply = try server.admin("/v4/openim/query_online_status", ["To_Account": ["alice"]])
            return (reply["QueryResult"] as? [[String: Any]])?.first?["Status"] as? String
        }
        try {
            let (bridge, js) = attached()
            let id = try instance(bridge, server)
            let login = bridge.login(id, userId: "alice", userSig: sig)
            XCTAssertEqual(js.untilSettled(login).map(show).last, loginOk(login))
            XCTAssertEqual(try status(), "Online")
            bridge.detach()
        }()
        XCTAssertTrue(waitUntil(pollMs: 20) { (try? status()) == "Offline" }, "alice still \(String(describing: try? status()))")
    }

    func testOptionsAreCopiedAsDoublesAndStrings() {
        let o = NatterBridge.instanceOptions([
            "SDKAppID": NSNumber(value: 1_400_000_001), "proxyServer": "wss://im.example.com", "platform": "ipad",
            "heartbeatIntervalMs": NSNumber(value: 1500.5), "requestTimeoutMs": NSNumber(value: -3),
            "loginTimeoutMs": NSNumber(value: 0), "reconnectMinDelayMs": NSNumber(value: 100),
            "reconnectMaxDelayMs": NSNumber(value: Double.nan),
        ])
        XCTAssertEqual(o.sdkAppId, 1_400_000_001)
        XCTAssertEqual(o.proxyServer, "wss://im.example.com")
        XCTAssertEqual(o.platform, "ipad")
        XCTAssertEqual(o.heartbeatIntervalMs, 1500.5)
        XCTAssertEqual(o.requestTimeoutMs, -3)
        XCTAssertEqual(o.loginTimeoutMs, 0)
        XCTAssertEqual(o.reconnectMinDelayMs, 100)
        XCTAssertTrue(o.reconnectMaxDelayMs?.isNaN ?? false)
        let none = NatterBridge.instanceOptions(["SDKAppID": "1400000001", "proxyServer": NSNumber(value: 5)])
        XCTAssertNil(none.sdkAppId)
        XCTAssertNil(none.proxyServer)
        XCTAssertNil(none.platform)
        XCTAssertNil(none.loginTimeoutMs)
    }

    func testRustRefusesBadOptionsWithDocumentedCodes() throws {
        let bridge = NatterBridge()
        let good: [String: Any] = ["SDKAppID": NSNumber(value: 1_400_000_001.0), "proxyServer": "ws://127.0.0.1:1/ws"]
        func code(_ change: [String: Any], drop: String? = nil) -> Int? {
            var o = good.merging(change) { $1 }
            if let drop { o.removeValue(forKey: drop) }
            let r = bridge.create(o)
            XCTAssertFalse((r["message"] as? String ?? "").isEmpty, "\(o) -> \(r)")
            return r["code"] as? Int
        }
        XCTAssertEqual(code([:], drop: "SDKAppID"), 2000)
        for bad in [0, -1_400_000_001, 1.5] {
            XCTAssertEqual(code(["SDKAppID": NSNumber(value: bad)]), 2000, "SDKAppID \(bad)")
        }
        for key in ["heartbeatIntervalMs", "requestTimeoutMs", "loginTimeoutMs"] {
            for bad in [0, -5, 2.5, Double.nan] {
                XCTAssertEqual(code([key: NSNumber(value: bad)]), 9001, "\(key) \(bad)")
            }
        }
        XCTAssertEqual(code(["platform": "tablet"]), 9001)
        XCTAssertEqual(code(["proxyServer": "ftp://x"]), 9001)
        XCTAssertNotNil(bridge.create(good)["instanceId"] as? String)
        for bad in [9, -1, 1.5, Double.nan] {
            XCTAssertEqual(bridge.setLogLevel(bad)["code"] as? Int, 9001, "setLogLevel(\(bad))")
        }
        XCTAssertTrue(bridge.setLogLevel(4).isEmpty)
    }

    func testItemsBecomeNatterItemDictionaries() {
        let event = NatterBridge.itemDictionary(.event(instanceId: "i-1", name: "kickedOut", dataJson: #"{"type":"multipleDevice"}"#))
        XCTAssertEqual(event["kind"] as? String, "event")
        XCTAssertEqual(event["instanceId"] as? String, "i-1")
        XCTAssertEqual(event["name"] as? String, "kickedOut")
        XCTAssertEqual(event["data"] as? String, #"{"type":"multipleDevice"}"#)
        XCTAssertEqual(event.count, 4)
        let okItem = NatterBridge.itemDictionary(.settled(callId: 7, outcome: .ok(dataJson: "{}")))
        XCTAssertEqual(okItem["kind"] as? String, "settled")
        XCTAssertEqual(okItem["callId"] as? Double, 7)
        XCTAssertEqual(okItem["ok"] as? Bool, true)
        XCTAssertEqual(okItem["data"] as? String, "{}")
        XCTAssertEqual(okItem.count, 4)
        let errItem = NatterBridge.itemDictionary(.settled(callId: 9, outcome: .err(code: 70003, message: "bad sig")))
        XCTAssertEqual(errItem["ok"] as? Bool, false)
        XCTAssertEqual(errItem["code"] as? Int, 70003)
        XCTAssertEqual(errItem["message"] as? String, "bad sig")
        XCTAssertEqual(errItem.count, 5)
    }

    func testUnknownInstancesSettleWithCodes() {
        let (bridge, js) = attached()
        let login = bridge.login("nope", userId: "a", userSig: "s")
        let logout = bridge.logout("nope")
        let destroy = bridge.destroy("nope")
        XCTAssertEqual(Set(js.untilSettled(login, logout, destroy).map(show)),
                       [err(login, 9002), err(logout, 9002), ok(destroy)])
        XCTAssertFalse(bridge.isReady("nope"))
        XCTAssertEqual(bridge.getLoginUser("nope"), "")
        XCTAssertGreaterThan(bridge.getServerTime("nope"), 1.7e12)
    }
}

/// Waits (with a deadline) for a condition nothing signals, e.g. a getter changing.
func waitUntil(timeout: TimeInterval = soon, pollMs: UInt32 = 1, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { return false }
        usleep(pollMs * 1000) // the polling interval, not a wait for an outcome: the condition decides
    }
    return true
}
