/**
 * Starting a checkout: `/pay <amount> [reference]`, `/pay <checkout token>`, and `/start <payload>`
 * from a merchant's payment link. The relay is asked whether it would take the terms before the
 * customer is asked for a phone number, so a wrong amount or an altered link is refused at once.
 */
import { Composer, Keyboard } from 'grammy';
import { fromStartPayload, looksLikeToken, readClaims } from '../checkout-link.js';
import type { BotContext } from '../context.js';
import type { Logger } from '../logger.js';
import { problemText } from '../problem-text.js';
import type { Checkout, RelayClient } from '../relay-client.js';

export interface CheckoutDeps {
  relay: RelayClient;
  /** The merchant id the relay knows this bot's merchant by (to rebuild tokens from links). */
  merchantId: string;
  log: Logger;
}

/** Whole shillings, optionally with thousands separators: `250`, `1,500`, `1500`. */
const AMOUNT = /^(\d{1,3}(,\d{3})+|\d+)$/;

export function checkout({ relay, merchantId, log }: CheckoutDeps): Composer<BotContext> {
  const feature = new Composer<BotContext>();

  const begin = async (ctx: BotContext, terms: Checkout) => {
    const verdict = await relay.checkTerms(terms);
    if (!verdict.ok) {
      ctx.session.draft = undefined;
      await ctx.reply(problemText(verdict.problem, terms, ctx.t, log).text, { reply_markup: { remove_keyboard: true } });
      return;
    }
    ctx.session.draft = terms;
    await ctx.reply(ctx.t.askPhone(terms), { reply_markup: new Keyboard().requestContact(ctx.t.shareButton).resized().oneTime() });
  };

  const fromToken = async (ctx: BotContext, token: string | undefined) => {
    const claims = token ? readClaims(token) : undefined;
    if (!token || !claims) {
      await ctx.reply(ctx.t.linkBroken);
      return;
    }
    // The claims are shown to the customer; the relay is sent only the amount and the token.
    const { amount, reference, description } = claims;
    await begin(ctx, { amount, reference, ...(description ? { description } : {}), token });
  };

  feature.command('start', async (ctx, next) => {
    const payload = ctx.match.trim();
    if (payload === '') return next();
    await fromToken(ctx, fromStartPayload(payload, merchantId));
  });

  feature.command('pay', async (ctx) => {
    const [first = '', ...rest] = ctx.match.trim().split(/\s+/);
    // A full checkout token pasted, or the payload of a payment link.
    const token = looksLikeToken(first) ? first : fromStartPayload(first, merchantId);
    if (first === '') {
      await ctx.reply(ctx.t.payUsage);
    } else if (token) {
      await fromToken(ctx, token);
    } else if (!AMOUNT.test(first)) {
      await ctx.reply(ctx.t.amountInvalid(first));
    } else {
      const reference = rest.join(' ');
      await begin(ctx, { amount: Number(first.replaceAll(',', '')), ...(reference ? { reference } : {}) });
    }
  });

  return feature;
}
