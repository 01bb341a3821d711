require "json"

package = JSON.parse(File.read(File.join(__dir__, "package.json")))

# The iOS TurboModule "Natter": an Objective-C++ entry (ios/*.mm) conforming to the codegen spec
# NatterSpec (generated from js/src/NativeNatter.ts by the app's build) that forwards to the
# Swift module over the UniFFI Swift bindings of the Rust core (ios/Natter.xcframework).
Pod::Spec.new do |s|
  s.name         = "react-native-natter"
  s.version      = package["version"]
  s.summary      = package["description"]
  s.homepage     = package["repository"]["url"]
  s.license      = package["license"]
  s.authors      = "Natter contributors"

  s.platforms    = { :ios => min_ios_version_supported }
  s.source       = { :git => package["repository"]["url"], :tag => "v#{s.version}" }

  # The generated UniFFI Swift bindings compile into this pod's module; their C half (module
  # NatterFFI) and the Rust static library come from the xcframework (scripts/build-ios.sh).
  # Top level of ios/ only: ios/Natter.xcframework holds headers of its own.
  s.source_files = "ios/*.{h,m,mm,swift}", "bindings/swift/Natter.swift"
  s.private_header_files = "ios/*.h"
  s.vendored_frameworks = "ios/Natter.xcframework"
  s.swift_version = "5.9"

  install_modules_dependencies(s)
end
