// Objective-C++ entry of the TurboModule: converts codegen types to Foundation ones and back,
// and emits events. Every rule lives in NatterBridge.swift (tested on Linux by swift-tests/).
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
// (react-native#57893), so delivery starts only here; earlier events wait in the bridge's gate.
- (void)setEventEmitterCallback:(EventEmitterCallbackWrapper *)eventEmitterCallbackWrapper
{
  [super setEventEmitterCallback:eventEmitterCallbackWrapper];
  __weak Natter *weakSelf = self;
  [_impl attachWithSink:^(NSString *instanceId, NSString *name, NSDictionary *data) {
    [weakSelf emitOnNatterEvent:@{@"instanceId" : instanceId, @"name" : name, @"data" : data ?: @{}}];
  }];
}

- (void)invalidate
{
  [_impl detach];
  [_impl invalidate];
  [super invalidate];
}

static NSException *NatterException(NSError *error)
{
  // Synchronous TurboModule methods cannot carry a code property: the contract puts it first.
  NSString *reason = [NSString stringWithFormat:@"[%ld] %@", (long)error.code, error.localizedDescription];
  return [NSException exceptionWithName:@"NatterError" reason:reason userInfo:nil];
}


- (NSString *)createInstance:(JS::NativeNatter::NatterCreateOptions &)options
{
  NSMutableDictionary *dict = [NSMutableDictionary new];
  dict[@"sdkAppId"] = @(options.sdkAppId());
  dict[@"serverUrl"] = options.serverUrl();
  dict[@"platform"] = options.platform();
  if (options.heartbeatIntervalMs().has_value()) {
    dict[@"heartbeatIntervalMs"] = @(options.heartbeatIntervalMs().value());
  }
  if (options.requestTimeoutMs().has_value()) {
    dict[@"requestTimeoutMs"] = @(options.requestTimeoutMs().value());
  }
  if (options.loginTimeoutMs().has_value()) {
    dict[@"loginTimeoutMs"] = @(options.loginTimeoutMs().value());
  }
  NSError *error = nil;
  NSString *instanceId = [_impl createInstance:dict error:&error];
  if (instanceId == nil) {
    @throw NatterException(error);
  }
  return instanceId;
}

- (void)login:(NSString *)instanceId
       userId:(NSString *)userId
      userSig:(NSString *)userSig
      resolve:(RCTPromiseResolveBlock)resolve
       reject:(RCTPromiseRejectBlock)reject
{
  [_impl login:instanceId
      userId:userId
      userSig:userSig
      resolve:^(NSDictionary *data) { resolve(data); }
      reject:^(NSInteger code, NSString *message) { reject([@(code) stringValue], message, nil); }];
}

- (void)logout:(NSString *)instanceId resolve:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)reject
{
  [_impl logout:instanceId
      resolve:^(NSDictionary *data) { resolve(nil); }
      reject:^(NSInteger code, NSString *message) { reject([@(code) stringValue], message, nil); }];
}

- (void)destroy:(NSString *)instanceId resolve:(RCTPromiseResolveBlock)resolve reject:(RCTPromiseRejectBlock)reject
{
  [_impl destroy:instanceId
      resolve:^(NSDictionary *data) { resolve(nil); }
      reject:^(NSInteger code, NSString *message) { reject([@(code) stringValue], message, nil); }];
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

- (void)setLogLevel:(double)level
{
  NSError *error = nil;
  if (![_impl setLogLevel:(NSInteger)level error:&error]) {
    @throw NatterException(error);
  }
}

@end
