/**
 * `/cancel`: drops the checkout being set up and the offers not yet paid. An offer whose prompt
 * was sent stays (its message still shows the payment, and [Try again] on it still works): the
 * bot cannot call a prompt back, so the customer is told to decline it on the phone.
 */
import { Composer } from 'grammy';
import type { BotContext, Offer } from '../context.js';

export const cancel = new Composer<BotContext>();

cancel.command('cancel', async (ctx) => {
  const offers = Object.entries(ctx.session.offers ?? {});
  const sent = offers.filter(([, offer]) => offer.paymentId !== undefined);
  const dropped = ctx.session.draft !== undefined || sent.length < offers.length;
  ctx.session.draft = undefined;
  ctx.session.offers = sent.length > 0 ? Object.fromEntries<Offer>(sent) : undefined;
  const maybe = sent.length > 0 || offers.some(([, offer]) => offer.mayHaveSent);
  const reply = !dropped ? ctx.t.nothingToCancel : maybe ? ctx.t.cancelledPromptSent : ctx.t.cancelled;
  await ctx.reply(reply, { reply_markup: { remove_keyboard: true } });
});
