/**
 * Webhook mode: the bot registers its URL with a secret token, and its server takes only requests
 * that carry that token in `X-Telegram-Bot-Api-Secret-Token`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/src/testing/free-port.js';
import { offer, startHarness, type Harness } from './testing/harness.js';

const SECRET = 'the-right-secret_42';
let harness: Harness;
let webhookUrl = '';

beforeAll(async () => {
  const port = await freePort();
  webhookUrl = `http://127.0.0.1:${port}/telegram/updates`;
  harness = await startHarness({ webhook: async () => ({ url: webhookUrl, secret: SECRET, host: '127.0.0.1', port }) });
});

afterAll(async () => {
  await harness?.close();
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`bot logs:\n${harness.logs.join('\n')}`);
});

function post(body: unknown, secret: string | undefined): Promise<Response> {
  return fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret !== undefined ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
    body: JSON.stringify(body),
  });
}

describe('webhook mode', () => {
  it('registers its URL with the secret token and handles the updates Telegram posts with it', async () => {
    expect(harness.telegram.webhook).toEqual({ url: webhookUrl, secret: SECRET });
    const user = harness.telegram.user(4000);
    user.send('/pay 250 HOOK-1');
    await user.waitForMessage(/Pay KES 250 for HOOK-1/);
    expect(harness.telegram.webhookStatuses.every((status) => status === 200)).toBe(true);
    expect(harness.telegram.callsOf('getUpdates')).toHaveLength(0);
  });

  it('refuses an update with a wrong or missing secret token and does not act on it', async () => {
    const user = harness.telegram.user(4001);
    const update = (updateId: number, text: string) => ({
      update_id: updateId,
      message: {
        message_id: updateId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: user.chatId, type: 'private', first_name: 'Mallory' },
        from: user.from,
        text,
        entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }],
      },
    });
    const wrong = await post(update(900_001, '/pay 999 EVIL-1'), 'a-wrong-secret');
    expect(wrong.status).toBe(401);
    const missing = await post(update(900_002, '/pay 998 EVIL-2'), undefined);
    expect(missing.status).toBe(401);
    const right = await post(update(900_003, '/help'), SECRET);
    expect(right.status).toBe(200);
    await user.waitForMessage(/\/pay 250 INV-9/);
    expect(user.messages).toHaveLength(1);
  });
});

describe('webhook mode, stopping', () => {
  it('waits, when stopped, for a Pay still waiting on a slow relay after its webhook request was answered, so its payment is on disk', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/telegram/updates`;
    // Webhook requests answered after 200 ms (Telegram's patience, shortened), the relay slower.
    const slow = await startHarness({ webhook: async () => ({ url, secret: SECRET, host: '127.0.0.1', port }), webhookAnswerMs: 200, throughProxy: true });
    try {
      const user = slow.telegram.user(4100);
      const confirmation = await offer(user, '/pay 260 HOOKSTOP-1', '0708374149');
      let held = false;
      slow.proxy!.rule = async (request) => {
        if (request.method === 'POST' && request.url === '/v1/payments') {
          held = true;
          await new Promise((resolve) => setTimeout(resolve, 1_500));
        }
        return false;
      };
      // The update that brought the confirmation may be answered just after it appears.
      await slow.telegram.waitFor('every update so far answered', () => slow.telegram.webhookStatuses.length === slow.telegram.lastUpdateId);
      const answered = slow.telegram.webhookStatuses.length;
      user.press(confirmation, 'Pay');
      await slow.telegram.waitFor('the press answered to Telegram', () => slow.telegram.webhookStatuses.length > answered);
      expect(held).toBe(true);
      await slow.stopBot();
      const open = readdirSync(join(slow.dataDir, 'open-payments')).filter((name) => name.endsWith('.json'));
      expect(open).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });
});

describe('webhook mode, an update that fails after its request was answered', () => {
  it('hands the failure to the error handler, which tells the customer, and the bot keeps serving', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/telegram/updates`;
    // Webhook requests answered after 200 ms (Telegram's patience, shortened).
    const late = await startHarness({ webhook: async () => ({ url, secret: SECRET, host: '127.0.0.1', port }), webhookAnswerMs: 200 });
    try {
      // The reply waits out a flood limit past the answer, then Telegram refuses it.
      late.telegram.failNext('sendMessage', { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
      late.telegram.failNext('sendMessage', { ok: false, error_code: 400, description: 'Bad Request: something unexpected' });
      const user = late.telegram.user(4200);
      user.send('hello');
      await user.waitForMessage(/Something went wrong on our side/);
      expect(late.logs.some((line) => line.startsWith('error an update failed'))).toBe(true);
      expect(late.telegram.webhookStatuses).toEqual([200]);
      user.send('/pay 250 HOOKLATE-1');
      await user.waitForMessage(/Which M-Pesa number/);
    } finally {
      await late.close();
    }
  });
});
