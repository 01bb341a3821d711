/**
 * An app written against the reference SDK (`@tencentcloud/chat` 3.6.6) using only the session
 * API that Natter implements. js/__tests__/types.test.ts compiles it against the reference
 * typings and, unchanged, with `@tencentcloud/chat` mapped to react-native-natter.
 */
import TencentCloudChat from '@tencentcloud/chat';

export async function main(SDKAppID: number, userID: string, userSig: string): Promise<string[]> {
  const log: string[] = [];
  const chat = TencentCloudChat.create({ SDKAppID, proxyServer: 'wss://chat.example.com/ws' });
  chat.setLogLevel(1);

  const onReady = (event: { name: string; data: unknown }) => {
    log.push(`${event.name} ready=${chat.isReady()}`);
  };
  chat.on(TencentCloudChat.EVENT.SDK_READY, onReady);
  chat.on(TencentCloudChat.EVENT.SDK_NOT_READY, () => log.push('not ready'));
  chat.on(TencentCloudChat.EVENT.KICKED_OUT, (event: { data: { type: string } }) => {
    if (event.data.type === TencentCloudChat.TYPES.KICKED_OUT_MULT_ACCOUNT) log.push('kicked: another page');
    else if (event.data.type === TencentCloudChat.TYPES.KICKED_OUT_MULT_DEVICE) log.push('kicked: another device');
    else if (event.data.type === TencentCloudChat.TYPES.KICKED_OUT_USERSIG_EXPIRED) log.push('kicked: sig expired');
    else if (event.data.type === TencentCloudChat.TYPES.KICKED_OUT_REST_API) log.push('kicked: by the admin');
  });
  chat.on(TencentCloudChat.EVENT.NET_STATE_CHANGE, (event: { data: { state: string } }) => {
    if (event.data.state === TencentCloudChat.TYPES.NET_STATE_DISCONNECTED) log.push('offline');
    if (event.data.state === TencentCloudChat.TYPES.NET_STATE_CONNECTING) log.push('reconnecting');
    if (event.data.state === TencentCloudChat.TYPES.NET_STATE_CONNECTED) log.push('online');
  });
  chat.on(TencentCloudChat.EVENT.ERROR, function (this: unknown, event: { data: { code: number; message: string } }) {
    log.push(`error ${event.data.code}: ${event.data.message}`);
  }, { owner: 'app' });

  try {
    const res = await chat.login({ userID, userSig });
    if (res.data.repeatLogin === true) log.push(`already logged in: ${res.data.errorInfo}`);
  } catch (e) {
    const err = e as { code: number; message: string };
    log.push(`login failed ${err.code} ${err.message}`);
  }
  chat
    .login({ userID, userSig })
    .then((res: { code: number }) => log.push(`code ${res.code}`))
    .catch((e: { code: number }) => log.push(`code ${e.code}`));

  const user: String = chat.getLoginUser();
  const now: Number = chat.getServerTime();
  const ready: boolean = chat.isReady();
  log.push(`${user} ${now} ${ready}`);

  chat.off(TencentCloudChat.EVENT.SDK_READY, onReady);
  await chat.logout();
  await chat.destroy();
  return log;
}
