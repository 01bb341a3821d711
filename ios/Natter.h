// The iOS TurboModule "Natter" (New Architecture). Conforms to the codegen spec generated from
// js/src/NativeNatter.ts by the app's build and forwards every call to NatterImpl (Swift).
#import <NatterSpec/NatterSpec.h>

@interface Natter : NativeNatterSpecBase <NativeNatterSpec>
@end
