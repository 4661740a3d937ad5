// Type-check test: an app written against the published types (run by `npm test` via tsc).
import Realtime, {
  Realtime as Named,
  RealtimeError,
  type DatabaseResponse,
  type RealtimeEvent,
  type RealtimeGroup,
  type RealtimeUser,
} from 'switchboard-realtime';

async function app(): Promise<void> {
  const rt: Named = new Realtime({
    token: async () => 'jwt',
    reconnect: { initialDelay: 500, maxDelay: 20000, maxAttempts: 0 },
    requestTimeout: 10000,
    offlineQueue: { maxCount: 1000, maxBytes: 1 << 20 },
  });
  const ws: WebSocket = await rt.connectRealtime((ev: RealtimeEvent) => {
    if (ev.type === 'notice' && ev.code === 'USER_JOINED') console.log(ev.sender, ev.sender_cid, ev.sender_rid);
    if (ev.type === 'notice' && ev.code === 'RECOVERY_FAILED') console.log('refetch', ev.sender_rid);
  });
  ws.readyState;
  const joined: { type: 'success'; message: string } = await rt.joinRealtime({ group: 'lobby' });
  await rt.joinRealtime({ group: null });
  await rt.postRealtime({ any: ['json'] }, 'lobby', { title: 't', body: 'b', config: { always: true } });
  const users: DatabaseResponse<RealtimeUser> = await rt.getRealtimeUsers({ user_id: 'bob' }, { limit: 10, fetchMore: true });
  const cid: string = users.list[0].cid;
  const groups: DatabaseResponse<RealtimeGroup> = await rt.getRealtimeGroups(
    { searchFor: 'number_of_users', value: 2, condition: '>=' },
    { ascending: false },
  );
  const n: number = groups.list[0].number_of_users;
  const end: boolean = groups.endOfList;
  const { VAPIDPublicKey }: { VAPIDPublicKey: string } = await rt.vapidPublicKey();
  const keys = { p256dh: 'p', auth: 'a' };
  const sub: 'SUCCESS: Subscribed to receive notifications.' = await rt.subscribeNotification('https://push.example/x', keys);
  await rt.subscribeNotification({ endpoint: 'https://push.example/x', keys });
  await rt.unsubscribeNotification({ endpoint: 'https://push.example/x', keys });
  const sent: 'SUCCESS: Notification sent.' = await rt.pushNotification({ title: 't', body: 'b' }, ['bob']);
  console.log(VAPIDPublicKey, sub, sent);
  await rt.closeRealtime();
  try {
    await rt.postRealtime(1, 'x');
  } catch (e) {
    if (e instanceof RealtimeError && e.code === 'NOT_CONNECTED') console.log(e.message);
    if (e instanceof RealtimeError && e.code === 'QUEUE_FULL') console.log('offline queue full');
  }
  console.log(joined, cid, n, end, rt.state, rt.cid, rt.group);
  const me: string | null = rt.userId;
  const form = document.createElement('form');
  await rt.joinRealtime(form);  // forms where Skapi takes params
  await rt.getRealtimeGroups(new FormData(form));
  console.log(me);
  // @ts-expect-error: the token is required
  new Realtime({});
  // @ts-expect-error: searchFor 'number_of_users' takes a number
  await rt.getRealtimeGroups({ searchFor: 'number_of_users', value: 'x' });
}
void app;
