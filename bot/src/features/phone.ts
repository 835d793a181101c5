/**
 * The customer's M-Pesa number, while a checkout waits for it: their own contact from the "Share
 * my phone number" button (someone else's contact is refused) or a typed number, normalised by
 * the same code as the widget and the relay. Then the offer: [Pay KES 250] [Cancel].
 */
import { Composer } from 'grammy';
import { normalizePhone } from '@stk-pay/server/phone';
import type { BotContext, Offer } from '../context.js';
import { localPhone } from '../i18n.js';
import { offerKeyboard } from '../views.js';

/** Offers older than the latest few lose their buttons' meaning (the session stays small). */
const OFFERS_KEPT = 10;

export const phone = new Composer<BotContext>();

const offer = async (ctx: BotContext, msisdn: string) => {
  const draft = ctx.session.draft;
  if (!draft) return;
  const shown = localPhone(msisdn);
  await ctx.reply(ctx.t.phoneNoted(shown), { reply_markup: { remove_keyboard: true } });
  const message = await ctx.reply(ctx.t.confirm(draft, shown), { reply_markup: offerKeyboard(ctx.t, draft.amount) });
  const offers: Record<string, Offer> = { ...ctx.session.offers, [message.message_id]: { ...draft, phone: msisdn } };
  const kept = Object.keys(offers).map(Number).sort((a, b) => b - a).slice(0, OFFERS_KEPT);
  ctx.session.offers = Object.fromEntries(kept.map((id) => [id, offers[id]!]));
  ctx.session.draft = undefined;
};

phone.on('message:contact', async (ctx, next) => {
  if (!ctx.session.draft) return next();
  const contact = ctx.message.contact;
  // A shared contact card may be anyone's: only the sender's own number can receive their prompt.
  const number = normalizePhone(contact.phone_number);
  if (contact.user_id !== ctx.from.id) await ctx.reply(ctx.t.notOwnContact);
  else if (!number.ok) await ctx.reply(ctx.t.notKenyanContact);
  else await offer(ctx, number.msisdn);
});

phone.on('message:text', async (ctx, next) => {
  if (!ctx.session.draft || ctx.message.text.startsWith('/')) return next();
  const number = normalizePhone(ctx.message.text);
  if (number.ok) await offer(ctx, number.msisdn);
  else await ctx.reply(ctx.t.phoneRefused[number.reason]);
});
