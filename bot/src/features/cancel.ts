/** `/cancel`: drops the checkout being set up and the offers not yet paid. */
import { Composer } from 'grammy';
import type { BotContext } from '../context.js';

export const cancel = new Composer<BotContext>();

cancel.command('cancel', async (ctx) => {
  const hadSomething = ctx.session.draft !== undefined || Object.keys(ctx.session.offers ?? {}).length > 0;
  ctx.session.draft = undefined;
  ctx.session.offers = undefined;
  await ctx.reply(hadSomething ? ctx.t.cancelled : ctx.t.nothingToCancel, { reply_markup: { remove_keyboard: true } });
});
