// Smoke tests for macOS (`swift test` after build-xcframework.sh). Not run on our Linux CI:
// the Kotlin and Python tests cover the same surface there against a real server.
import XCTest
@testable import Tutti

final class TuttiTests: XCTestCase {
    func testVersion() {
        XCTAssertFalse(version().isEmpty)
    }

    func testBadSettingsThrow() {
        XCTAssertThrowsError(try TuttiClient(settings: EngineSettings(channels: 3), listener: nil))
    }

    func testProcessReturnsStereo() throws {
        let client = try TuttiClient(settings: EngineSettings(sampleRate: 48000, maxBlockFrames: 256, channels: 1), listener: nil)
        XCTAssertEqual(try client.process(input: [Float](repeating: 0, count: 256)).count, 512)
    }
}
