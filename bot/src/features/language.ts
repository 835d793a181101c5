/** Picks English or Swahili for each update from the customer's Telegram language. */
import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import { langOf, STRINGS } from '../i18n.js';

export const language = new Composer<BotContext>();

language.use((ctx, next) => {
  ctx.lang = langOf(ctx.from?.language_code);
  ctx.t = STRINGS[ctx.lang];
  return next();
});
