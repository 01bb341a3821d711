// Test support: a real natter-server child process, UserSigs from its CLI, the admin REST API,
// an event log that waits with deadlines, and a way to run async code from a synchronous test.
// Tests block only their own (main) thread, never Swift concurrency's cooperative pool, which
// the bindings' async calls need to make progress.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

let soon: TimeInterval = 10

/// A thread-safe queue whose reader waits for the next item with a deadline.
final class Waiter<T>: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [T] = []

    func append(_ item: T) {
        cond.lock()
        items.append(item)
        cond.broadcast()
        cond.unlock()
    }

    func next(timeout: TimeInterval = soon, file: StaticString = #filePath, line: UInt = #line) -> T? {
        cond.lock()
        defer { cond.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while items.isEmpty {
            if !cond.wait(until: deadline) {
                XCTFail("nothing arrived within \(timeout) s", file: file, line: line)
                return nil
            }
        }
        return items.removeFirst()
    }

    /// Waits out `duration` (the waiting is the test: nothing may arrive); returns what arrived first, if anything.
    func arrival(within duration: TimeInterval) -> T? {
        cond.lock()
        defer { cond.unlock() }
        let deadline = Date().addingTimeInterval(duration)
        while items.isEmpty {
            if !cond.wait(until: deadline) { return nil }
        }
        return items.removeFirst()
    }

    /// Items already there, without waiting.
    func drain() -> [T] {
        cond.lock()
        defer { cond.unlock() }
        let all = items
        items.removeAll()
        return all
    }
}

struct TimedOut: Error {}

/// Runs `body` as a detached task and waits for it on the calling (test) thread.
func blocking<T>(timeout: TimeInterval = 30, _ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Waiter<Result<T, Error>>()
    Task.detached {
        do {
            result.append(.success(try await body()))
        } catch {
            result.append(.failure(error))
        }
    }
    guard let r = result.next(timeout: timeout) else { throw TimedOut() }
    return try r.get()
}

/// `natter-server` as a child process on a free loopback port.
final class TestServer {
    static let binary = ProcessInfo.processInfo.environment["NATTER_SERVER_BIN"] ?? "../target/debug/natter-server"
    let process = Process()
    let wsURL: String
    let httpBase: String
    let sdkAppId: UInt64 = 1_400_000_001

    init(_ extraArgs: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--listen", "127.0.0.1:0"] + extraArgs
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read the banner line by line until the WebSocket URL (the pipe's read blocks only
        // until the server prints, which it does at once).
        var banner = ""
        let deadline = Date().addingTimeInterval(soon)
        while banner.range(of: #"ws://127\.0\.0\.1:[0-9]+/ws"#, options: .regularExpression) == nil, Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        guard let range = banner.range(of: #"ws://127\.0\.0\.1:[0-9]+/ws"#, options: .regularExpression) else {
            process.terminate()
            throw NSError(domain: "TestServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "no ws URL in: \(banner)"])
        }
        wsURL = String(banner[range])
        httpBase = wsURL.replacingOccurrences(of: "ws://", with: "http://").replacingOccurrences(of: "/ws", with: "")
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }

    /// A UserSig from the server's own CLI (the official algorithm, same dev key).
    static func userSig(_ user: String, expire: Int = 3600) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["usersig", "--user", user, "--expire", String(expire)]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// POST to the admin REST API as the dev admin; returns the JSON reply.
    func admin(_ path: String, _ body: [String: Any]) throws -> [String: Any] {
        let sig = try Self.userSig("administrator")
        var url = URLComponents(string: httpBase + path)!
        url.queryItems = [
            URLQueryItem(name: "sdkappid", value: String(sdkAppId)),
            URLQueryItem(name: "identifier", value: "administrator"),
            URLQueryItem(name: "usersig", value: sig),
            URLQueryItem(name: "random", value: "1"),
            URLQueryItem(name: "contenttype", value: "json"),
        ]
        var request = URLRequest(url: url.url!)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let reply = Waiter<Result<Data, Error>>()
        URLSession.shared.dataTask(with: request) { data, _, error in
            reply.append(error.map { .failure($0) } ?? .success(data ?? Data()))
        }.resume()
        guard let result = reply.next() else { throw TimedOut() }
        let json = try JSONSerialization.jsonObject(with: try result.get())
        return json as? [String: Any] ?? [:]
    }
}
