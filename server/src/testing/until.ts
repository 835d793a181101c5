/** Waits for `check` to hold, looking every 20 ms; fails the test after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, what = 'condition', timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The verdicts recorded for a payment's callbacks, once there are at least `atLeast`. An applied
 * callback is recorded with its status change, but others (unconfirmed, duplicate) are recorded
 * after a change that a test may have seen first.
 */
export async function recordedVerdicts(
  store: { callbacksFor(paymentId: string): Promise<{ verdict: string }[]> },
  paymentId: string,
  atLeast: number,
): Promise<string[]> {
  let verdicts: string[] = [];
  await until(async () => (verdicts = (await store.callbacksFor(paymentId)).map((c) => c.verdict)).length >= atLeast, `${atLeast} callback verdicts`);
  return verdicts;
}
