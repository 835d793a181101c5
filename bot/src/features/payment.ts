/**
 * The buttons of an offer: [Pay] sends the payment and hands it to the watcher, which edits the
 * same message at every status; [Try again] on a failed payment sends a new one; [Cancel] drops
 * the offer. Each button is answered at once. The idempotency key comes from the update itself
 * (bot, chat and message of the offer, plus the failed payment for a retry), so a double tap or a
 * re-delivered update sends the relay the same key and never a second prompt; a press older than
 * the offer's latest payment does nothing, so an older payment never replaces a newer one.
 */
import { Composer, GrammyError, type Filter } from 'grammy';
import type { BotContext, Offer } from '../context.js';
import type { Logger } from '../logger.js';
import type { PaymentWatcher } from '../payment-watcher.js';
import { problemText } from '../problem-text.js';
import type { RelayClient } from '../relay-client.js';
import { CANCEL, offerKeyboard, PAY, TRY_AGAIN, tryAgainKeyboard } from '../views.js';

export interface PaymentDeps {
  relay: RelayClient;
  watcher: PaymentWatcher;
  log: Logger;
}

type ButtonContext = Filter<BotContext, 'callback_query:data'>;

/** `tg<bot>-<chat>-<message>[-<failed payment>]`: printable ASCII, well under 255 characters. */
export function idempotencyKey(botId: number, chatId: number, messageId: number, retryOf?: string): string {
  return `tg${botId}-${chatId}-${messageId}${retryOf ? `-${retryOf}` : ''}`;
}

/** Pressing a button twice may ask for the same text again, which Telegram refuses: nothing to do. */
function unlessNotModified(error: unknown): void {
  if (!(error instanceof GrammyError && /message is not modified/i.test(error.description))) throw error;
}

export function payment({ relay, watcher, log }: PaymentDeps): Composer<BotContext> {
  const feature = new Composer<BotContext>();

  /**
   * The offer behind the pressed button's message, if the session still has it: by the message's
   * id, or for [Try again], by its failed payment (shown in a new message when the customer had
   * deleted the offer's). `messageId` is the offer's (its key); `pressedId` the message to show on.
   */
  const offerOf = (ctx: ButtonContext, retryOf?: string): { offer: Offer; chatId: number; messageId: number; pressedId: number } | undefined => {
    const message = ctx.callbackQuery.message;
    const offers = ctx.session.offers ?? {};
    if (!message) return undefined;
    const id = message.message_id in offers ? String(message.message_id) : Object.keys(offers).find((key) => retryOf !== undefined && offers[key]!.paymentId === retryOf);
    const offer = id === undefined ? undefined : offers[id];
    return offer ? { offer, chatId: message.chat.id, messageId: Number(id), pressedId: message.message_id } : undefined;
  };

  /** With `notice`, the customer gets it as a pop-up they dismiss. */
  const answerNow = (ctx: ButtonContext, notice?: string) =>
    ctx.answerCallbackQuery(notice ? { text: notice, show_alert: true } : {}).catch((error: unknown) => log.warn('could not answer a button press', { error }));

  const send = async (ctx: ButtonContext, retryOf: string | undefined) => {
    const found = offerOf(ctx, retryOf);
    if (!found) {
      await ctx.editMessageText(ctx.t.offerGone).catch(() => undefined);
      return;
    }
    const { offer, chatId, messageId, pressedId } = found;
    // A press from before the offer's latest payment (Pay, or Try again on an earlier failure, that
    // Telegram delivers again or out of order, or an old button): its key would replay an older
    // payment over the one shown. That one stays; only its own failure's [Try again] sends anew.
    if (offer.paymentId !== undefined && offer.paymentId !== retryOf) return;
    const key = idempotencyKey(ctx.me.id, chatId, messageId, retryOf);
    const answer = await relay.createPayment(offer, offer.phone, key);
    if (answer.ok) {
      // The prompt went out: /cancel and [Cancel] can no longer say that nothing was sent.
      offer.paymentId = answer.value.id;
      // Edits the message now; the following itself runs in the background.
      await watcher.follow({ chatId, messageId: pressedId, lang: ctx.lang }, answer.value);
      return;
    }
    // No answer (a timeout, a proxy's error page): the relay may have taken it and sent the prompt.
    // The same request is sent again in the background, and the payment it returns is shown here.
    if (answer.problem.kind === 'unreachable' && answer.problem.mayHaveArrived) {
      offer.mayHaveSent = true;
      const terms = { ...offer };
      watcher.recoverPayment({ chatId, messageId: pressedId, lang: ctx.lang }, (signal) => relay.createPayment(terms, terms.phone, key, signal));
    }
    const problem = problemText(answer.problem, offer, ctx.t, log, true);
    // The same button again uses the same idempotency key: safe even if the request did arrive.
    const again = retryOf ? tryAgainKeyboard(ctx.t, retryOf) : offerKeyboard(ctx.t, offer.amount);
    await ctx.editMessageText(problem.text, problem.retryable ? { reply_markup: again } : {}).catch(unlessNotModified);
  };

  feature.callbackQuery(PAY, async (ctx) => {
    await answerNow(ctx);
    await send(ctx, undefined);
  });

  feature.callbackQuery(TRY_AGAIN, async (ctx) => {
    await answerNow(ctx);
    await send(ctx, ctx.match[1]);
  });

  feature.callbackQuery(CANCEL, async (ctx) => {
    const found = offerOf(ctx);
    if (found?.offer.paymentId) {
      // Pay was pressed first (a quick second tap): the message shows that payment, and stays.
      await answerNow(ctx, ctx.t.promptAlreadySent);
      return;
    }
    await answerNow(ctx);
    if (found) delete ctx.session.offers?.[found.messageId];
    await ctx.editMessageText(found?.offer.mayHaveSent ? ctx.t.cancelledPromptSent : ctx.t.cancelled).catch(unlessNotModified);
  });

  return feature;
}
