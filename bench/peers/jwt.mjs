// HS256 verification with node:crypto, so every peer authenticates each connection the way
// Switchboard does (signature and expiry checked; `sub` is the user id).
import { createHmac, timingSafeEqual } from 'node:crypto';

export function verify(token, secret) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const mac = createHmac('sha256', secret).update(parts[0] + '.' + parts[1]).digest();
  const sig = Buffer.from(parts[2], 'base64url');
  if (sig.length !== mac.length || !timingSafeEqual(sig, mac)) return null;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    if (typeof claims.sub !== 'string' || (claims.exp && claims.exp * 1000 < Date.now())) return null;
    return claims.sub;
  } catch {
    return null;
  }
}

export const options = () => ({
  port: Number(process.env.PORT || 9001),
  secret: process.env.BENCH_SECRET || 'bench-secret',
});
