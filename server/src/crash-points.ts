/**
 * Named points where a test can make the relay die as `kill -9` would (STK_PAY_CRASH_AT=<point>),
 * to prove every step is committed before it is acted on. Unset in production: a no-op.
 */
export type CrashPoint =
  /** The payment is stored; the push is not yet claimed or sent. */
  | 'after_store'
  /** The push is claimed (committed as sent); its request has not left. */
  | 'after_push_claimed'
  /** The provider accepted the push; its reference is not yet stored. */
  | 'after_push_accepted'
  /** A callback's final status is committed; it is not yet announced. */
  | 'after_callback_commit'
  /** A merchant webhook is claimed; the POST has not gone out. */
  | 'before_webhook_post';

const chosen = process.env['STK_PAY_CRASH_AT'];

export function crashPoint(point: CrashPoint): void {
  if (chosen !== point) return;
  process.stderr.write(`stk-pay: crash point ${point} reached; dying as kill -9 would\n`);
  process.kill(process.pid, 'SIGKILL');
}
