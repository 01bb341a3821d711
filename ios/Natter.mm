// Objective-C++ entry of the TurboModule: forwards every spec method to NatterImpl (Swift) and
// emits `onNatterItem`. Every rule lives in Rust (the Hub); NatterBridge.swift only marshals.
#import "Natter.h"

// The Swift half of this pod (NatterImpl, NatterBridge, the UniFFI bindings).
#if __has_include(<react_native_natter/react_native_natter-Swift.h>)
#import <react_native_natter/react_native_natter-Swift.h>
#else
#import "react_native_natter-Swift.h"
#endif

@implementation Natter {
  NatterImpl *_impl;
}

RCT_EXPORT_MODULE(Natter)

- (instancetype)init
{
  if (self = [super init]) {
    _impl = [NatterImpl new];
  }
  return self;
}

- (std::shared_ptr<facebook::react::TurboModule>)getTurboModule:
    (const facebook::react::ObjCTurboModule::InitParams &)params
{
  return std::make_shared<facebook::react::NativeNatterSpecJSI>(params);
}

// RN installs the event emitter when JS first looks the module up. Emitting before that crashes
// (react-native#57893), so the hub's sink is attached only here; until then the hub queues.
- (void)setEventEmitterCallback:(EventEmitterCallbackWrapper *)eventEmitterCallbackWrapper
{
  [super setEventEmitterCallback:eventEmitterCallbackWrapper];
  __weak Natter *weakSelf = self;
  [_impl attachWithEmit:^(NSDictionary *item) {
    [weakSelf emitOnNatterItem:item];
  }];
}

- (void)invalidate
{
  [_impl detach];
  _impl = nil; // the last Hub handle: Rust ends its instances
  [super invalidate];
}

- (NSDictionary *)create:(NSDictionary *)options
{
  return [_impl create:options];
}

- (NSNumber *)login:(NSString *)instanceId userId:(NSString *)userId userSig:(NSString *)userSig
{
  return @([_impl login:instanceId userId:userId userSig:userSig]);
}

- (NSNumber *)logout:(NSString *)instanceId
{
  return @([_impl logout:instanceId]);
}

- (NSNumber *)destroy:(NSString *)instanceId
{
  return @([_impl destroy:instanceId]);
}

- (NSNumber *)isReady:(NSString *)instanceId
{
  return @([_impl isReady:instanceId]);
}

- (NSString *)getLoginUser:(NSString *)instanceId
{
  return [_impl getLoginUser:instanceId];
}

- (NSNumber *)getServerTime:(NSString *)instanceId
{
  return @([_impl getServerTime:instanceId]);
}

- (NSDictionary *)setLogLevel:(double)level
{
  return [_impl setLogLevel:level];
}

- (NSNumber *)updateUserSig:(NSString *)instanceId userSig:(NSString *)userSig
{
  return @([_impl updateUserSig:instanceId userSig:userSig]);
}

- (NSNumber *)provideUserSig:(double)requestId ok:(BOOL)ok value:(NSString *)value
{
  return @([_impl provideUserSig:requestId ok:ok value:value]);
}

- (NSDictionary *)setAppState:(NSString *)instanceId state:(NSString *)state
{
  return [_impl setAppState:instanceId state:state];
}

- (NSDictionary *)setNetworkReachable:(NSString *)instanceId reachable:(BOOL)reachable
{
  return [_impl setNetworkReachable:instanceId reachable:reachable];
}

- (NSString *)getSessionState:(NSString *)instanceId
{
  return [_impl getSessionState:instanceId];
}

@end
