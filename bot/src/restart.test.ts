/**
 * The bot and the relay come and go: a relay that is down gets a clear message and the same Pay
 * button works once it is back; a bot stopped while a payment is open picks it up on its next
 * start, from its storage on disk, and edits the message when the payment ends.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RelayClient } from './relay-client.js';
import { offer, paymentsFor, startHarness, type Harness } from './testing/harness.js';

let harness: Harness;
let nextUser = 3000;

beforeAll(async () => {
  harness = await startHarness({ sandboxDelayMs: 1_500 });
});

afterAll(async () => {
  await harness?.close();
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`bot logs:\n${harness.logs.join('\n')}`);
});

const openPaymentFiles = () => readdirSync(join(harness.dataDir, 'open-payments')).filter((name) => name.endsWith('.json'));

describe('restarts and outages', () => {
  it('says the payment service is not answering when the relay is down, however often Pay is pressed, and the same Pay works once it is back', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 310 DOWN-1', '0708374149');
    await harness.stopRelay();
    try {
      user.press(confirmation, 'Pay');
      await harness.telegram.waitFor('the outage message', () => /not answering right now/.test(confirmation.text));
      expect(confirmation.reply_markup?.inline_keyboard?.[0]?.[0]?.text).toBe('Pay KES 310');
      const answered = harness.telegram.callsOf('answerCallbackQuery').length;
      user.press(confirmation, 'Pay');
      await harness.telegram.waitFor('the second press handled', () => harness.telegram.callsOf('answerCallbackQuery').length > answered);
      const before = user.messages.length;
      user.send('/pay 50');
      await user.waitForMessage(/not answering right now/, { after: before });
      expect(user.messages.some((message) => /Something went wrong/.test(message.text))).toBe(false);
    } finally {
      await harness.startRelayAgain();
    }
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 310 for DOWN-1/.test(confirmation.text));
    expect(await paymentsFor(harness, 'DOWN-1')).toHaveLength(1);
  });

  it('says nothing was sent after a Pay whose connection to the relay was refused, and does not ask the relay again', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 370 REFUSED-1', '0708374149');
    await harness.stopRelay();
    try {
      user.press(confirmation, 'Pay');
      await harness.telegram.waitFor('the outage message', () => /not answering right now/.test(confirmation.text));
      user.press(confirmation, 'Cancel');
      await harness.telegram.waitFor('the cancellation', () => /^Cancelled/.test(confirmation.text));
      expect(confirmation.text).toBe('Cancelled. Nothing was sent to your phone.');
    } finally {
      await harness.startRelayAgain();
    }
    expect(await paymentsFor(harness, 'REFUSED-1')).toHaveLength(0);
    expect(harness.logs.join('\n')).not.toMatch(/asked again/);
  });

  it('edits the message of a payment left open by a stopped bot once a new bot starts on the same storage', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 820 RESTART-1', '0708374149');
    user.press(confirmation, 'Pay');
    const payUpdate = harness.telegram.lastUpdateId;
    await harness.telegram.waitFor('check your phone', () => /Check your phone/.test(confirmation.text));
    // The press is confirmed to Telegram: the new bot can learn of the payment only from its storage.
    await harness.telegram.waitFor('the press confirmed by getUpdates', () => harness.telegram.confirmedOffset > payUpdate);
    await harness.stopBot();
    expect(openPaymentFiles()).toHaveLength(1);

    const [payment] = await paymentsFor(harness, 'RESTART-1');
    await waitForRelayStatus(payment!.id, 'succeeded');
    expect(confirmation.text).toMatch(/Check your phone/);

    await harness.startBotAgain();
    await harness.telegram.waitFor('the receipt from the new bot', () => /Paid KES 820 for RESTART-1/.test(confirmation.text));
    await harness.telegram.waitFor('the open payment removed from storage', () => openPaymentFiles().length === 0);
  });

  it('keeps on disk a payment that Pay got from a slow relay while the bot was stopping, and the next start shows it to its end', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 350 SLOW-1', '0708374149');
    await harness.stopBot();
    // The Pay handler that outlived the drain: the relay's late answer reaches the stopped watcher.
    const answer = await new RelayClient(harness.relay.url, 'pk_test_demo').createPayment({ amount: 350, reference: 'SLOW-1' }, '254708374149', `slow-${user.chatId}`);
    if (!answer.ok) throw new Error(`the relay refused the payment: ${JSON.stringify(answer.problem)}`);
    await harness.bot.watcher.follow({ chatId: user.chatId, messageId: confirmation.message_id, lang: 'en' }, answer.value);
    expect(openPaymentFiles()).toContain(`${answer.value.id}.json`);
    expect(harness.bot.watcher.size).toBe(0);

    await harness.startBotAgain();
    await harness.telegram.waitFor('the receipt from the new bot', () => /Paid KES 350 for SLOW-1/.test(confirmation.text));
    await harness.telegram.waitFor('the open payment removed from storage', () => !openPaymentFiles().includes(`${answer.value.id}.json`));
  });

  it('stops promptly while Telegram cannot be reached and a payment is followed, keeping it for the next start', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 380 HANG-1', '0708374149');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('check your phone', () => /Check your phone/.test(confirmation.text));
    const [payment] = await paymentsFor(harness, 'HANG-1');
    harness.telegram.goOffline();
    try {
      // The payment ends; the edit that would show it cannot reach Telegram, and is retried.
      await harness.telegram.waitFor('the receipt edit cut off', () => harness.telegram.unanswered.includes('editMessageText'));
      await harness.stopBot();
      expect(openPaymentFiles()).toContain(`${payment!.id}.json`);
    } finally {
      harness.telegram.goOnline();
    }
    await harness.startBotAgain();
    await harness.telegram.waitFor('the receipt from the new bot', () => /Paid KES 380 for HANG-1/.test(confirmation.text));
  }, 10_000);

  it('keeps trying to reach Telegram through an outage, and once it is back hears the next customer and shows the payment that ended meanwhile', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 330 OUTAGE-1', '0708374149');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('check your phone', () => /Check your phone/.test(confirmation.text));
    const [payment] = await paymentsFor(harness, 'OUTAGE-1');
    const polls = () => harness.telegram.unanswered.filter((method) => method === 'getUpdates').length;
    const before = polls();
    harness.telegram.goOffline();
    try {
      await waitForRelayStatus(payment!.id, 'succeeded');
      // Tries at a steady pace, not at waits that double with every failure.
      await harness.telegram.waitFor('four tries to fetch updates while Telegram is out of reach', () => polls() - before >= 4);
    } finally {
      harness.telegram.goOnline();
    }
    const next = harness.telegram.user(nextUser++);
    next.send('/pay 100 OUTAGE-2');
    await next.waitForMessage(/Which M-Pesa number/);
    await harness.telegram.waitFor('the receipt', () => /Paid KES 330 for OUTAGE-1/.test(confirmation.text));
  });

  it('follows more than ten payments at once without a MaxListenersExceededWarning on the shared stop signal', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const users = Array.from({ length: 12 }, () => harness.telegram.user(nextUser++));
      const confirmations = await Promise.all(users.map((user, i) => offer(user, `/pay ${200 + i} MANY-${i}`, '0708374149')));
      users.forEach((user, i) => user.press(confirmations[i]!, 'Pay'));
      await harness.telegram.waitFor('twelve payments followed at once', () => harness.bot.watcher.size >= 12);
      await Promise.all(confirmations.map((confirmation, i) => harness.telegram.waitFor(`receipt ${i}`, () => new RegExp(`Paid KES ${200 + i}`).test(confirmation.text))));
      expect(warnings.filter((warning) => warning.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('stops following a payment whose stream the relay says is over (204: resumed after its final event), and removes it from storage', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 840 OVER-1', '0708374149');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 840 for OVER-1/.test(confirmation.text));
    const [payment] = await paymentsFor(harness, 'OVER-1');
    await harness.stopBot();
    // A record that has seen the final event already, as a bot stopped right after showing it might leave.
    const final = ((await (await fetch(`${harness.relay.url}/v1/payments/${payment!.id}`)).json()) as { seq: number }).seq;
    const record = { paymentId: payment!.id, chatId: confirmation.chatId, messageId: confirmation.message_id, lang: 'en', terms: { amount: 840, reference: 'OVER-1', description: null }, seq: final, shown: 'succeeded', since: Date.now() };
    writeFileSync(join(harness.dataDir, 'open-payments', `${payment!.id}.json`), JSON.stringify(record));
    await harness.startBotAgain();
    await harness.telegram.waitFor('the open payment removed from storage', () => openPaymentFiles().length === 0);
    expect(confirmation.text).toMatch(/Paid KES 840 for OVER-1/);
  });

  it('starts and works with open-payment files edited into another shape (null, {}, half a record), ignoring them', async () => {
    await harness.stopBot();
    const dir = join(harness.dataDir, 'open-payments');
    writeFileSync(join(dir, 'pay_null.json'), 'null');
    writeFileSync(join(dir, 'pay_empty.json'), '{}');
    writeFileSync(join(dir, 'pay_half.json'), JSON.stringify({ paymentId: 'pay_half', chatId: 1 }));
    try {
      await harness.startBotAgain();
      const user = harness.telegram.user(nextUser++);
      const confirmation = await offer(user, '/pay 830 SHAPES-1', '0708374149');
      user.press(confirmation, 'Pay');
      await harness.telegram.waitFor('the receipt', () => /Paid KES 830 for SHAPES-1/.test(confirmation.text));
      expect(harness.logs.join('\n')).not.toMatch(/paymentId=undefined|failed to start/);
    } finally {
      for (const name of ['pay_null.json', 'pay_empty.json', 'pay_half.json']) rmSync(join(dir, name), { force: true });
    }
  });

  it('keeps following a payment while the relay restarts, and shows the receipt', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 415 RELAYRESTART-1', '0708374149');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('check your phone', () => /Check your phone/.test(confirmation.text));
    await harness.stopRelay();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await harness.startRelayAgain();
    await harness.telegram.waitFor('the receipt', () => /Paid KES 415 for RELAYRESTART-1/.test(confirmation.text), 15_000);
  });

  it('sends no second prompt when a Pay is delivered again to a restarted bot', async () => {
    const user = harness.telegram.user(nextUser++);
    const confirmation = await offer(user, '/pay 930 REDELIVER-1', '0708374149');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 930/.test(confirmation.text), 15_000);
    await harness.stopBot();
    await harness.startBotAgain();
    // Telegram delivers the same button press again (as after a crash before it was confirmed).
    const callback = harness.telegram.callsOf('answerCallbackQuery').length;
    harness.telegram.push({
      callback_query: {
        id: 'redelivered-1',
        from: user.from,
        chat_instance: `ci${user.chatId}`,
        data: 'pay',
        message: harness.telegram.toTelegram({ ...confirmation, text: 'Pay KES 930 for REDELIVER-1 from M-Pesa 0708 374 149?' }),
      },
    });
    await harness.telegram.waitFor('the re-delivered press answered', () => harness.telegram.callsOf('answerCallbackQuery').length > callback);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await paymentsFor(harness, 'REDELIVER-1')).toHaveLength(1);
    expect(confirmation.text).toMatch(/Paid KES 930/);
  });
});

async function waitForRelayStatus(paymentId: string, status: string): Promise<void> {
  let lastStatus = '';
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const response = await fetch(`${harness.relay.url}/v1/payments/${paymentId}`);
    lastStatus = ((await response.json()) as { status: string }).status;
    if (lastStatus === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`payment ${paymentId} is ${lastStatus}, not ${status}`);
}
