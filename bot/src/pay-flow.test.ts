/**
 * A customer pays through the bot: /pay, the phone number, [Pay], and the same message edited as
 * the payment goes on. Real grammY client against the Bot API double, real relay with the sandbox.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SandboxProvider } from '../../server/src/providers/sandbox.js';
import { offer, paymentsFor, startHarness, type Harness } from './testing/harness.js';

let harness: Harness;
let nextUser = 1000;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`bot logs:\n${harness.logs.join('\n')}`);
});

function customer(languageCode = 'en') {
  return harness.telegram.user(nextUser++, { languageCode });
}

describe('paying with /pay', () => {
  it('takes /pay 250 INV-9 and the shared contact to the receipt, editing the confirmation as the payment goes on', async () => {
    const user = customer();
    user.send('/pay 250 INV-9');
    const ask = await user.waitForMessage(/Which M-Pesa number/);
    expect(ask.text).toContain('KES 250 for INV-9');
    expect(ask.reply_markup?.keyboard?.[0]?.[0]?.request_contact).toBe(true);

    user.shareContact('+254708374149');
    const confirmation = await user.waitForMessage(/from M-Pesa 0708 374 149/);
    expect(confirmation.text).toContain('Pay KES 250 for INV-9');
    const queryId = user.press(confirmation, 'Pay KES 250');

    await harness.telegram.waitFor('the receipt', () => /Paid KES 250 for INV-9/.test(confirmation.text));
    // The button is answered before the payment is sent and the message edited.
    const calls = harness.telegram.calls.map((call) => (call.method === 'answerCallbackQuery' ? String(call.payload.callback_query_id) : call.method));
    const firstEdit = calls.findIndex((call, i) => call === 'editMessageText' && harness.telegram.calls[i]!.payload.message_id === confirmation.message_id);
    expect(calls.indexOf(queryId)).toBeGreaterThan(-1);
    expect(calls.indexOf(queryId)).toBeLessThan(firstEdit);
    expect(confirmation.text).toMatch(/M-Pesa receipt: [A-Z0-9]{10}/);
    expect(confirmation.reply_markup).toBeUndefined();
    expect(confirmation.history.some((text) => /Check your phone/.test(text))).toBe(true);
    expect(confirmation.history.at(-1)).toBe(confirmation.text);

    const [payment] = await paymentsFor(harness, 'INV-9');
    expect(payment).toMatchObject({ amount: 250, status: 'succeeded', phone: '254708374149' });
    expect(confirmation.text).toContain((payment as unknown as { receipt: string }).receipt);
  });

  it('shows a payment cancelled on the phone with [Try again], which sends a new prompt', async () => {
    const user = customer();
    const confirmation = await offer(user, '/pay 120 CAN-1', '0700000001');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the failure', () => /Not paid: you cancelled the request on your phone/.test(confirmation.text));
    expect(confirmation.text).toContain('No money was taken');

    user.press(confirmation, 'Try again');
    await harness.telegram.waitFor('the second failure', () => confirmation.history.filter((text) => text.startsWith('❌')).length === 2);
    const payments = await paymentsFor(harness, 'CAN-1');
    expect(payments).toHaveLength(2);
    expect(payments.every((payment) => payment.status === 'failed')).toBe(true);
  });

  it('keeps Paid shown when the first Pay press arrives again after Try again paid (a webhook retry, an old button): no older payment over a newer one', async () => {
    // The customer declines the first prompt on the phone and pays the second.
    const push = SandboxProvider.prototype.requestPayment;
    let pushes = 0;
    const spy = vi.spyOn(SandboxProvider.prototype, 'requestPayment').mockImplementation(function (this: SandboxProvider, request) {
      const declined = request.reference === 'STALE-1' && pushes++ === 0;
      return push.call(this, declined ? { ...request, phone: '254700000001' } : request);
    });
    try {
      const user = customer();
      const confirmation = await offer(user, '/pay 250 STALE-1', '0708374149');
      const payPress = harness.telegram.toTelegram(confirmation);
      user.press(confirmation, 'Pay');
      await harness.telegram.waitFor('the first failure', () => /Not paid/.test(confirmation.text));
      user.press(confirmation, 'Try again');
      await harness.telegram.waitFor('the receipt', () => /Paid KES 250 for STALE-1/.test(confirmation.text));
      const edits = confirmation.history.length;

      const answered = harness.telegram.callsOf('answerCallbackQuery').length;
      harness.telegram.push({ callback_query: { id: 'stale-pay', from: user.from, chat_instance: `ci${user.chatId}`, data: 'pay', message: payPress } });
      await harness.telegram.waitFor('the stale press answered', () => harness.telegram.callsOf('answerCallbackQuery').length > answered);
      // A press to show an old payment would be followed by its edit; a second update in the same chat comes after it.
      const before = user.messages.length;
      user.send('/help');
      await user.waitForMessage(/\/cancel/, { after: before });
      expect(confirmation.text).toMatch(/^✅ Paid KES 250 for STALE-1/);
      expect(confirmation.history).toHaveLength(edits);
      expect((await paymentsFor(harness, 'STALE-1')).map((payment) => payment.status).sort()).toEqual(['failed', 'succeeded']);
    } finally {
      spy.mockRestore();
    }
  });

  it('sends the outcome in a new message when the customer deleted the status message, and follows the payment there (Try again too)', async () => {
    const user = customer();
    const confirmation = await offer(user, '/pay 130 DEL-1', '0700000001');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the prompt shown', () => /Check your phone|on its way/.test(confirmation.text));
    const before = user.messages.length;
    user.deleteMessage(confirmation);
    const outcome = await user.waitForMessage(/Not paid: you cancelled the request on your phone/, { after: before - 1 });
    expect(outcome.message_id).not.toBe(confirmation.message_id);

    user.press(outcome, 'Try again');
    await harness.telegram.waitFor('the second failure on the new message', () => outcome.history.filter((text) => text.startsWith('❌')).length === 2);
    expect(user.messages.some((message) => /no longer open|Something went wrong/.test(message.text))).toBe(false);
    expect(await paymentsFor(harness, 'DEL-1')).toHaveLength(2);
  });

  it('stops following, and forgets, a payment whose customer deleted its message and blocked the bot', async () => {
    const user = customer();
    const confirmation = await offer(user, '/pay 140 BLK-1', '0708374149');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the prompt shown', () => /Check your phone|on its way/.test(confirmation.text));
    const [payment] = await paymentsFor(harness, 'BLK-1');
    const record = join(harness.dataDir, 'open-payments', `${payment!.id}.json`);
    expect(existsSync(record)).toBe(true);
    harness.telegram.failNext('sendMessage', { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    user.deleteMessage(confirmation);
    await harness.telegram.waitFor('the record removed', () => !existsSync(record));
    expect(harness.logs.some((line) => line.includes('the customer cannot be reached any more'))).toBe(true);
  });

  it('tells the customer when the M-Pesa balance was not enough', async () => {
    const user = customer();
    const confirmation = await offer(user, '/pay 5000 INS-1', '0700000002');
    user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the failure', () => /Not paid: your M-Pesa balance was not enough/.test(confirmation.text));
    expect(confirmation.reply_markup?.inline_keyboard?.[0]?.[0]?.text).toBe('Try again');
  });

  it('refuses an amount outside the merchant range before asking for a phone number, and text that is not an amount', async () => {
    const user = customer();
    user.send('/pay 200000 BIG-1');
    const refusal = await user.waitForMessage(/does not accept this amount/);
    expect(refusal.text).toContain('KES 150,000');
    user.send('/pay 12.50');
    await user.waitForMessage(/"12.50" is not an amount/);
    expect(user.messages.some((message) => /Which M-Pesa number/.test(message.text))).toBe(false);
    expect(await paymentsFor(harness, 'BIG-1')).toHaveLength(0);
  });

  it('quotes back only the start of a /pay argument too long to be an amount, so the answer stays within what Telegram sends', async () => {
    const user = customer();
    const command = `/pay ${'x'.repeat(4091)}`;
    expect(command).toHaveLength(4096);
    user.send(command);
    const reply = await user.waitForMessage(/is not an amount/);
    expect(reply.text).toBe(`"${'x'.repeat(29)}…" is not an amount. Send whole shillings, for example /pay 250.`);
    expect(user.messages.some((message) => /Something went wrong/.test(message.text))).toBe(false);
  });

  it('refuses a number that is not a Kenyan M-Pesa number and takes a good one after it', async () => {
    const user = customer();
    user.send('/pay 300 PH-1');
    await user.waitForMessage(/Which M-Pesa number/);
    user.send('0712 345');
    await user.waitForMessage(/has 10 digits/);
    user.send('+1 202 555 0143');
    await user.waitForMessage(/not a Kenyan M-Pesa number/);
    user.send('0712-345-678');
    await user.waitForMessage(/from M-Pesa 0712 345 678/);
  });

  it("refuses someone else's contact: only the sender's own number gets the prompt", async () => {
    const user = customer();
    user.send('/pay 300 CON-1');
    await user.waitForMessage(/Which M-Pesa number/);
    user.shareContact('+254711111111', 999_999);
    await user.waitForMessage(/share your own number/);
    user.shareContact('+254722222222', 'no-user');
    await harness.telegram.waitFor('a second refusal', () => user.messages.filter((m) => /share your own number/.test(m.text)).length === 2);
    expect(user.messages.some((message) => /from M-Pesa/.test(message.text))).toBe(false);
  });

  it('sends one payment for a double tap on Pay', async () => {
    const user = customer();
    const confirmation = await offer(user, '/pay 450 TAP-1', '0708374149');
    const first = user.press(confirmation, 'Pay');
    const second = user.press(confirmation, 'Pay');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 450/.test(confirmation.text));
    expect(harness.telegram.answeredCallbacks.has(first) && harness.telegram.answeredCallbacks.has(second)).toBe(true);
    expect(await paymentsFor(harness, 'TAP-1')).toHaveLength(1);
  });

  it('speaks Swahili to a customer whose Telegram is in Swahili', async () => {
    const user = customer('sw');
    const confirmation = await offer(user, '/pay 250 SW-1', '0700000003');
    expect(confirmation.reply_markup?.inline_keyboard?.[0]?.map((button) => button.text)).toEqual(['Lipa KES 250', 'Ghairi']);
    user.press(confirmation, 'Lipa');
    await harness.telegram.waitFor('the failure', () => /Haijalipwa: PIN ya M-Pesa haikuwa sahihi/.test(confirmation.text));
    expect(confirmation.history.some((text) => /Angalia simu yako/.test(text))).toBe(true);
  });

  it('serves many customers at once, each to their own receipt', async () => {
    const users = Array.from({ length: 8 }, () => customer());
    const confirmations = await Promise.all(users.map((user, i) => offer(user, `/pay ${100 + i} MANY-${i}`, `07123456${String(i).padStart(2, '0')}`)));
    users.forEach((user, i) => user.press(confirmations[i]!, 'Pay'));
    await Promise.all(
      confirmations.map((confirmation, i) => harness.telegram.waitFor(`receipt ${i}`, () => new RegExp(`Paid KES ${100 + i} for MANY-${i}`).test(confirmation.text))),
    );
  });

  it('waits out a Telegram flood limit (429 with retry_after) and then sends the reply', async () => {
    const user = customer();
    harness.telegram.failNext('sendMessage', { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
    const sentAt = Date.now();
    user.send('/pay 75 FLOOD-1');
    await user.waitForMessage(/Which M-Pesa number/);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_000);
    expect(user.messages.map((message) => message.text)).toEqual([expect.stringMatching(/^Pay KES 75 for FLOOD-1/)]);
  });

  it("stays within Telegram's global limit of 30 messages a second when many customers write at once, and answers every one", async () => {
    harness.telegram.floodLimit(30);
    try {
      const users = Array.from({ length: 45 }, () => customer());
      for (const user of users) user.send('/pay 100 CROWD-1');
      await Promise.all(users.map((user) => user.waitForMessage(/Which M-Pesa number/)));
      expect(harness.telegram.floodRefusals).toBe(0);
      expect(users.every((user) => user.messages.length === 1)).toBe(true);
    } finally {
      harness.telegram.floodLimit(undefined);
    }
  });

  it('cancels with the Cancel button (a double tap too) and with /cancel, after which Pay on an old offer sends nothing', async () => {
    const user = customer();
    const confirmation = await offer(user, '/pay 90 CXL-1', '0708374149');
    user.press(confirmation, 'Cancel');
    user.press(confirmation, 'Cancel');
    await harness.telegram.waitFor('the cancellation', () => /Cancelled. Nothing was sent/.test(confirmation.text));
    const second = await offer(user, '/pay 90 CXL-2', '0708374149');
    const before = user.messages.length;
    user.send('/cancel');
    await user.waitForMessage(/^Cancelled/, { after: before });
    user.press(second, 'Pay');
    await harness.telegram.waitFor('the offer closed', () => /no longer open/.test(second.text));
    user.send('0708374149');
    await user.waitForMessage(/To pay, send \/pay/, { after: before + 1 });
    expect(await paymentsFor(harness, 'CXL-2')).toHaveLength(0);
    expect(user.messages.some((message) => /Something went wrong/.test(message.text))).toBe(false);
    expect(await paymentsFor(harness, 'CXL-1')).toHaveLength(0);
  });

  it('never says nothing was sent once Pay sent the prompt: Cancel right after Pay leaves the payment shown, /cancel says to decline it on the phone', async () => {
    const user = customer();
    const confirmation = await offer(user, '/pay 95 CXL-3', '0708374149');
    user.press(confirmation, 'Pay');
    const cancelPress = user.press(confirmation, 'Cancel');
    await harness.telegram.waitFor('the receipt', () => /Paid KES 95 for CXL-3/.test(confirmation.text));
    const cancelAnswer = harness.telegram.callsOf('answerCallbackQuery').find((call) => call.payload.callback_query_id === cancelPress);
    expect(cancelAnswer?.payload.text).toBe('The PIN prompt was already sent. To cancel, decline it on your phone.');
    expect(confirmation.history.some((text) => /Cancelled/.test(text))).toBe(false);

    const before = user.messages.length;
    user.send('/pay 96 CXL-4');
    await user.waitForMessage(/Which M-Pesa number/, { after: before });
    user.send('/cancel');
    const reply = await user.waitForMessage(/^Cancelled/, { after: before });
    expect(reply.text).toBe('Cancelled. If a PIN prompt is already on your phone, you can decline it there.');
    // The paid offer stays in the session; the draft is gone.
    user.send('/cancel');
    await user.waitForMessage(/^There is nothing to cancel/, { after: before });
    expect(await paymentsFor(harness, 'CXL-3')).toHaveLength(1);
  });

  it('greets a customer without a link, lists the commands, and publishes them in English and Swahili', async () => {
    const user = customer('sw');
    user.send('/start');
    const welcome = await user.waitForMessage(/Karibu kwenye malipo ya M-Pesa ya Mama Mboga/);
    expect(welcome.text).toContain('/pay 250 INV-9');
    user.send('/help');
    const help = await user.waitForMessage(/\/cancel – sitisha malipo/, { after: 1 });
    expect(help.text).not.toContain('Karibu');
    expect(harness.telegram.commands.get('')).toEqual([
      { command: 'pay', description: 'Pay, e.g. /pay 250 INV-9' },
      { command: 'cancel', description: 'Stop the payment you are setting up' },
      { command: 'help', description: 'How to pay' },
    ]);
    expect(harness.telegram.commands.get('sw')).toHaveLength(3);
  });

  it('answers /pay and /start in a group with a link to a private chat, in the sender\'s language, and takes no payment there', async () => {
    const group = -100_555;
    const user = customer();
    user.sendInGroup(group, '/pay@mama_mboga_bot 250 GRP-1');
    const answer = await harness.telegram.waitFor('the answer in the group', () => harness.telegram.chatMessages(group).at(0));
    expect(answer.text).toBe('To pay, message me privately, so your phone number stays out of this group: https://t.me/mama_mboga_bot');
    customer('sw').sendInGroup(group, '/start');
    const swahili = await harness.telegram.waitFor('the Swahili answer', () => harness.telegram.chatMessages(group).at(1));
    expect(swahili.text).toMatch(/^Ili kulipa, niandikie faragha.*https:\/\/t\.me\/mama_mboga_bot$/);
    user.sendInGroup(group, '/start@mama_mboga_bot k70NDFW38xF-NkyspMOWYeZPpNKJlE5yLkttBrPyp64tp43h6-6y-INV-9');
    const withPayload = await harness.telegram.waitFor('the answer to a link', () => harness.telegram.chatMessages(group).at(2));
    expect(withPayload.text).toMatch(/https:\/\/t\.me\/mama_mboga_bot\?start=k70NDFW38xF-NkyspMOWYeZPpNKJlE5yLkttBrPyp64tp43h6-6y-INV-9$/);
    expect(await paymentsFor(harness, 'GRP-1')).toHaveLength(0);
    expect(user.messages).toHaveLength(0);
  });

  it('tells the customer when a step failed on our side, and the next message works', async () => {
    const user = customer();
    harness.telegram.failNext('sendMessage', { ok: false, error_code: 400, description: 'Bad Request: something unexpected' });
    user.send('/pay 60 ERR-1');
    await user.waitForMessage(/Something went wrong on our side/);
    expect(harness.logs.some((line) => line.includes('a payment step failed'))).toBe(true);
    user.send('/pay 60 ERR-1');
    await user.waitForMessage(/Which M-Pesa number/);
  });
});
