// The one object the chat page talks to. A Skapi app creates it with `new Skapi(service, owner)`;
// here it is a Switchboard Realtime, and the three login members the page uses (skapi.user,
// getProfile, getUsers) are stood in by a name typed at sign-in and the server's dev tokens.
const me = sessionStorage.getItem('chat-user');
const skapi = new Switchboard.Realtime({
  token: async () => (await (await fetch('/dev/token?user=' + encodeURIComponent(me))).json()).token,
});
skapi.user = me ? { user_id: me, name: me } : null;
skapi.getProfile = async () => skapi.user;
skapi.getUsers = async ({ value }) => ({ list: [{ user_id: value, name: value }] });
