/** Control for js/__tests__/types.test.ts: exactly two type errors against react-native-natter. */
import TencentCloudChat from '@tencentcloud/chat';

const chat = TencentCloudChat.create({ SDKAppID: 1400000001 });
// 1: userSig is required (LoginOptions).
void chat.login({ userID: 'alice' });
// 2: getLoginUser() returns a string.
export const user: number = chat.getLoginUser();
