// Switchboard's stand-in for the service.js of Skapi's RTC example
// (skapi-documentation realtime/rtc-example.md, github.com/kkb75281/skapi-webrtc-html-template).
// The example's code (index.html) is Skapi's, unchanged: only the `skapi` object is swapped for
// a Switchboard Realtime. Login is shimmed (this demo server's /dev/token): `skapi.user`,
// `skapi.getProfile()` and `skapi.getUsers()`; every other member is the Realtime's own.
//
// Skapi's template loads skapi.js with a classic <script> and makes `skapi` at once; Switchboard
// is an ES module, so `skapi` forwards each call to the Realtime once the module has loaded.
// Calls are forwarded in the order made, each after the one before it has settled, as Skapi's
// own methods wait for its pending socket.
(function () {
  const user = new URLSearchParams(location.search).get('user');
  if (!user) {
    location.replace('login.html');
    return;
  }
  const me = { user_id: user, name: user };
  const login = {
    user: me,
    getProfile: async () => me,
    // Skapi's user directory: this demo knows users by their id only.
    getUsers: async (params) => ({ list: [{ user_id: params.value, name: params.value }], endOfList: true }),
  };
  const token = async () => (await (await fetch(`/dev/token?user=${encodeURIComponent(user)}`)).json()).token;
  const realtime = import('/switchboard/index.js').then(({ Realtime }) => new Realtime({ token }));
  let last = Promise.resolve();
  window.skapi = new Proxy(login, {
    get(target, key) {
      if (key in target) return target[key];
      return (...args) => {
        const result = last.then(() => realtime).then((rt) => rt[key](...args));
        last = result.catch(() => {});
        return result;
      };
    },
  });
})();
