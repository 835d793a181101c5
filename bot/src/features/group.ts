/**
 * `/pay` and `/start` in a group: payments are made in a private chat (the customer's phone number
 * stays out of the group), so the bot answers with a link to one, carrying a payment link's
 * payload when `/start` had one.
 */
import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import { language } from './language.js';

/** What Telegram allows as a `start` parameter. */
const START_PARAMETER = /^[A-Za-z0-9_-]{1,64}$/;

export const group = new Composer<BotContext>();

group.use(language);

group.command(['pay', 'start'], async (ctx) => {
  const payload = ctx.hasCommand('start') ? ctx.match.trim() : '';
  const link = `https://t.me/${ctx.me.username}${START_PARAMETER.test(payload) ? `?start=${payload}` : ''}`;
  await ctx.reply(ctx.t.payPrivately(link), { reply_parameters: { message_id: ctx.msg.message_id, allow_sending_without_reply: true } });
});
