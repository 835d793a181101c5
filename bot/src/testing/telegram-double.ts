/**
 * A Bot API double on 127.0.0.1: real HTTP, Telegram's request and response shapes, for the bot's
 * real grammY client (`apiRoot`). It keeps chats with their messages (and each message's edits),
 * delivers updates by long polling (getUpdates with offsets and timeout) or to a webhook with the
 * secret-token header, and can answer a method with an error once (a flood limit, say). It refuses
 * what Telegram refuses: an empty text, or one over 4,096 characters.
 * Customers are simulated by `user(id)`: they send text, share contacts and press buttons.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Message, Update, User } from 'grammy/types';

export interface BotMessage {
  message_id: number;
  chatId: number;
  text: string;
  reply_markup?: { inline_keyboard?: { text: string; callback_data?: string }[][]; keyboard?: { text: string; request_contact?: boolean }[][]; remove_keyboard?: boolean };
  /** Every text the message had, oldest first (the first is the text it was sent with). */
  history: string[];
}

export interface ApiCall {
  method: string;
  payload: Record<string, unknown>;
}

type ApiResult = { ok: true; result: unknown } | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number } };

export const BOT_TOKEN = '424242:TEST-token-for-the-bot-api-double';
/** The longest message text Telegram takes (sendMessage, editMessageText). */
export const MESSAGE_MAX = 4096;
const TOO_LONG: ApiResult = { ok: false, error_code: 400, description: 'Bad Request: message is too long' };

export class TelegramDouble {
  readonly calls: ApiCall[] = [];
  readonly messages: BotMessage[] = [];
  readonly answeredCallbacks = new Set<string>();
  readonly commands = new Map<string, unknown>();
  webhook: { url: string; secret: string | undefined } | undefined;
  /** The highest offset getUpdates confirmed (updates below it were received by the bot). */
  confirmedOffset = 0;
  readonly botUser: User = { id: 424242, is_bot: true, first_name: 'Mama Mboga', username: 'mama_mboga_bot' };

  private readonly updates: Update[] = [];
  private nextUpdateId = 1;
  private readonly nextMessageId = new Map<number, number>();
  private nextCallbackId = 1;
  private waiter: { respond: (updates: Update[] | ApiResult) => void } | undefined;
  private readonly failures = new Map<string, ApiResult[]>();
  private webhookQueue: Promise<void> = Promise.resolve();
  readonly webhookStatuses: number[] = [];
  /** While set, every request is cut off unanswered, as when api.telegram.org cannot be reached. */
  private offline = false;
  /** The methods of the requests cut off while offline, in order. */
  readonly unanswered: string[] = [];
  /** Telegram's global limit on messages (sent and edited) a second, when set; see `floodLimit`. */
  private messagesPerSecond: number | undefined;
  private readonly messageTimes: number[] = [];
  /** How many calls the global limit refused with 429. */
  floodRefusals = 0;
  /** Until when (ms) messages are refused after a flood wait was set; see `floodWait`. */
  private floodUntil = 0;
  private readonly server = createServer((request, response) => void this.handle(request, response));
  url = '';

  static async start(): Promise<TelegramDouble> {
    const double = new TelegramDouble();
    await new Promise<void>((resolve) => double.server.listen(0, '127.0.0.1', resolve));
    const address = double.server.address();
    if (address === null || typeof address === 'string') throw new Error('the double did not bind a TCP port');
    double.url = `http://127.0.0.1:${address.port}`;
    return double;
  }

  async close(): Promise<void> {
    this.waiter?.respond([]);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Telegram cannot be reached (requests in flight are cut too) until `goOnline()`. */
  goOffline(): void {
    this.offline = true;
    this.waiter?.respond([]);
    this.server.closeAllConnections();
  }

  goOnline(): void {
    this.offline = false;
  }

  /**
   * Enforces a global limit of `perSecond` messages sent or edited in any second (undefined: none),
   * answering a call past it as Telegram does: 429 with `parameters.retry_after`.
   */
  floodLimit(perSecond: number | undefined): void {
    this.messagesPerSecond = perSecond;
    this.messageTimes.length = 0;
    this.floodRefusals = 0;
  }

  /**
   * A flood wait, as Telegram sets on a bot that sent too much: for `seconds`, every message sent or
   * edited is refused with 429 and the seconds left in `parameters.retry_after` (0: lifted).
   */
  floodWait(seconds: number): void {
    this.floodUntil = seconds > 0 ? Date.now() + seconds * 1000 : 0;
  }

  /** The next call of `method` answers `error` instead (e.g. 429 with retry_after). */
  failNext(method: string, error: Exclude<ApiResult, { ok: true }>): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
  }

  user(id: number, options: { languageCode?: string; firstName?: string } = {}): TestUser {
    const from: User = { id, is_bot: false, first_name: options.firstName ?? `Customer ${id}`, language_code: options.languageCode ?? 'en' };
    return new TestUser(this, from);
  }

  chatMessages(chatId: number): BotMessage[] {
    return this.messages.filter((message) => message.chatId === chatId);
  }

  callsOf(method: string): ApiCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Waits until `check` returns something other than undefined/false, and returns it. */
  async waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Queues an update for getUpdates, or posts it to the webhook. Returns its id. */
  push(update: Omit<Update, 'update_id'>): number {
    const full = { ...update, update_id: this.nextUpdateId++ } as Update;
    if (this.webhook) {
      const { url, secret } = this.webhook;
      this.webhookQueue = this.webhookQueue.then(async () => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
          body: JSON.stringify(full),
        }).catch(() => undefined);
        this.webhookStatuses.push(response?.status ?? 0);
        await response?.body?.cancel();
      });
    } else {
      this.updates.push(full);
      this.flushWaiter();
    }
    return full.update_id;
  }

  /** The id of the update pushed last. */
  get lastUpdateId(): number {
    return this.nextUpdateId - 1;
  }

  newMessageId(chatId: number): number {
    const id = (this.nextMessageId.get(chatId) ?? 0) + 1;
    this.nextMessageId.set(chatId, id);
    return id;
  }

  newCallbackId(): string {
    return `cbq${this.nextCallbackId++}`;
  }

  private flushWaiter(): void {
    if (this.waiter && this.updates.length > 0) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.respond(this.updates.slice(0, 100));
    }
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(request.url ?? '/', this.url).pathname);
    if (this.offline) {
      this.unanswered.push(match?.[2] ?? '');
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const send = (result: ApiResult) => {
      if (response.writableEnded || response.destroyed) return;
      response.writeHead(result.ok ? 200 : result.error_code, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    };
    if (!match) return send({ ok: false, error_code: 404, description: 'Not Found' });
    if (match[1] !== BOT_TOKEN) return send({ ok: false, error_code: 401, description: 'Unauthorized' });
    const method = match[2]!;
    const text = Buffer.concat(chunks).toString('utf8');
    const payload = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    this.calls.push({ method, payload });
    const injected = this.failures.get(method)?.shift();
    if (injected) return send(injected);
    if (method === 'getUpdates') return this.getUpdates(payload, request, send);
    const flood = this.overFloodLimit(method);
    if (flood) return send(flood);
    send(this.answer(method, payload));
  }

  private overFloodLimit(method: string): ApiResult | undefined {
    if (method !== 'sendMessage' && method !== 'editMessageText') return undefined;
    const now = Date.now();
    if (now < this.floodUntil) return tooManyRequests(Math.ceil((this.floodUntil - now) / 1000));
    if (this.messagesPerSecond === undefined) return undefined;
    while (this.messageTimes.length > 0 && this.messageTimes[0]! <= now - 1000) this.messageTimes.shift();
    if (this.messageTimes.length < this.messagesPerSecond) {
      this.messageTimes.push(now);
      return undefined;
    }
    this.floodRefusals += 1;
    return tooManyRequests(Math.max(1, Math.ceil((this.messageTimes[0]! + 1000 - now) / 1000)));
  }

  private getUpdates(payload: Record<string, unknown>, request: IncomingMessage, send: (result: ApiResult) => void): void {
    if (this.webhook) {
      return send({ ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
    }
    const offset = Number(payload.offset ?? 0);
    if (offset > 0) {
      this.confirmedOffset = Math.max(this.confirmedOffset, offset);
      while (this.updates.length > 0 && this.updates[0]!.update_id < offset) this.updates.shift();
    }
    const limit = Math.min(Number(payload.limit ?? 100), 100);
    const timeoutSeconds = Number(payload.timeout ?? 0);
    const respond = (result: Update[] | ApiResult) => {
      clearTimeout(timer);
      send(Array.isArray(result) ? { ok: true, result: result.slice(0, limit) } : result);
    };
    // A second poller ends the first one's wait, as Telegram does.
    this.waiter?.respond({ ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
    const timer = setTimeout(() => {
      if (this.waiter?.respond === respond) this.waiter = undefined;
      respond([]);
    }, timeoutSeconds * 1000);
    this.waiter = { respond };
    request.once('close', () => {
      if (this.waiter?.respond === respond) this.waiter = undefined;
      clearTimeout(timer);
    });
    if (this.updates.length > 0 || timeoutSeconds === 0) {
      this.waiter = undefined;
      respond(this.updates);
    }
  }

  private answer(method: string, payload: Record<string, unknown>): ApiResult {
    switch (method) {
      case 'getMe':
        return { ok: true, result: { ...this.botUser, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false } };
      case 'deleteWebhook':
        this.webhook = undefined;
        return { ok: true, result: true };
      case 'setWebhook':
        this.webhook = { url: String(payload.url), secret: payload.secret_token === undefined ? undefined : String(payload.secret_token) };
        return { ok: true, result: true };
      case 'setMyCommands':
        this.commands.set(String(payload.language_code ?? ''), payload.commands);
        return { ok: true, result: true };
      case 'answerCallbackQuery':
        this.answeredCallbacks.add(String(payload.callback_query_id));
        return { ok: true, result: true };
      case 'sendMessage':
        return this.sendMessage(payload);
      case 'editMessageText':
        return this.editMessageText(payload);
      default:
        return { ok: false, error_code: 404, description: 'Not Found: method not found' };
    }
  }

  private sendMessage(payload: Record<string, unknown>): ApiResult {
    const chatId = Number(payload.chat_id);
    const text = String(payload.text ?? '');
    if (text.trim() === '') return { ok: false, error_code: 400, description: 'Bad Request: message text is empty' };
    if (text.length > MESSAGE_MAX) return TOO_LONG;
    const markup = payload.reply_markup as BotMessage['reply_markup'];
    const message: BotMessage = { message_id: this.newMessageId(chatId), chatId, text, ...(markup ? { reply_markup: markup } : {}), history: [text] };
    this.messages.push(message);
    return { ok: true, result: this.toTelegram(message) };
  }

  private editMessageText(payload: Record<string, unknown>): ApiResult {
    const chatId = Number(payload.chat_id);
    const message = this.messages.find((m) => m.chatId === chatId && m.message_id === Number(payload.message_id));
    if (!message) return { ok: false, error_code: 400, description: 'Bad Request: message to edit not found' };
    const text = String(payload.text ?? '');
    if (text.length > MESSAGE_MAX) return TOO_LONG;
    const markup = payload.reply_markup as BotMessage['reply_markup'] | undefined;
    if (text === message.text && JSON.stringify(markup?.inline_keyboard ?? []) === JSON.stringify(message.reply_markup?.inline_keyboard ?? [])) {
      return { ok: false, error_code: 400, description: 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message' };
    }
    message.text = text;
    if (markup) message.reply_markup = markup;
    else delete message.reply_markup;
    message.history.push(text);
    return { ok: true, result: this.toTelegram(message) };
  }

  toTelegram(message: BotMessage): Message {
    const inline = message.reply_markup?.inline_keyboard ? { reply_markup: { inline_keyboard: message.reply_markup.inline_keyboard } } : {};
    return {
      message_id: message.message_id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: message.chatId, type: 'private', first_name: 'Customer' },
      from: this.botUser,
      text: message.text,
      ...inline,
    } as Message;
  }
}

/** A customer in a private chat with the bot (and in groups with it). */
export class TestUser {
  constructor(
    private readonly telegram: TelegramDouble,
    readonly from: User,
  ) {}

  get chatId(): number {
    return this.from.id;
  }

  /** What the bot has sent to this customer (with edits applied). */
  get messages(): BotMessage[] {
    return this.telegram.chatMessages(this.chatId);
  }

  send(text: string): number {
    const entities = commandEntities(text);
    return this.telegram.push({ message: { ...this.base(), text, ...entities } as NonNullable<Update['message']> });
  }

  /** Sends `text` in a group the customer and the bot are in (`groupId` negative, as Telegram's are). */
  sendInGroup(groupId: number, text: string): number {
    const entities = commandEntities(text);
    const chat = { id: groupId, type: 'supergroup' as const, title: `Group ${groupId}` };
    const message = { message_id: this.telegram.newMessageId(groupId), date: Math.floor(Date.now() / 1000), chat, from: this.from, text, ...entities };
    return this.telegram.push({ message: message as NonNullable<Update['message']> });
  }

  /** Shares a contact card: the sender's own (the button), another Telegram user's, or a number's with no user. */
  shareContact(phoneNumber: string, owner: 'self' | 'no-user' | number = 'self'): number {
    const userId = owner === 'self' ? this.from.id : owner === 'no-user' ? undefined : owner;
    const contact = { phone_number: phoneNumber, first_name: this.from.first_name, ...(userId !== undefined ? { user_id: userId } : {}) };
    return this.telegram.push({ message: { ...this.base(), contact } as NonNullable<Update['message']> });
  }

  /** Deletes a message of the chat, as the customer can (the bot is not told: its edits then fail). */
  deleteMessage(message: BotMessage): void {
    const index = this.telegram.messages.indexOf(message);
    if (index === -1 || message.chatId !== this.chatId) throw new Error(`message ${message.message_id} is not in chat ${this.chatId}`);
    this.telegram.messages.splice(index, 1);
  }

  /** Presses the inline button whose text contains `label` on `message`; returns the query id. */
  press(message: BotMessage, label: string): string {
    const button = message.reply_markup?.inline_keyboard?.flat().find((b) => b.text.includes(label));
    if (!button?.callback_data) throw new Error(`no button "${label}" on message ${message.message_id}: ${message.text}`);
    const id = this.telegram.newCallbackId();
    this.telegram.push({
      callback_query: { id, from: this.from, chat_instance: `ci${this.chatId}`, data: button.callback_data, message: this.telegram.toTelegram(message) },
    });
    return id;
  }

  /** Waits for a message from the bot whose text matches, sent after the first `after` messages. */
  waitForMessage(pattern: RegExp, options: { after?: number; timeoutMs?: number } = {}): Promise<BotMessage> {
    return this.telegram.waitFor(
      `a message matching ${pattern} in chat ${this.chatId}`,
      () => this.messages.slice(options.after ?? 0).find((message) => pattern.test(message.text)),
      options.timeoutMs,
    );
  }

  private base() {
    return {
      message_id: this.telegram.newMessageId(this.chatId),
      date: Math.floor(Date.now() / 1000),
      chat: { id: this.chatId, type: 'private' as const, first_name: this.from.first_name },
      from: this.from,
    };
  }
}

function tooManyRequests(retryAfter: number): ApiResult {
  return { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } };
}

/** The `bot_command` entity Telegram marks a leading `/command` (or `/command@bot`) with. */
function commandEntities(text: string) {
  return text.startsWith('/') ? { entities: [{ type: 'bot_command' as const, offset: 0, length: text.split(/\s/)[0]!.length }] } : {};
}
