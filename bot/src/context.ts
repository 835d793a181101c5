/** The one context type every feature of the bot sees. */
import type { Context, SessionFlavor } from 'grammy';
import type { Lang, Strings } from './i18n.js';
import type { Checkout } from './relay-client.js';

/** A checkout confirmed with a phone number, shown with [Pay] [Cancel]. */
export interface Offer extends Checkout {
  /** Canonical 2547XXXXXXXX / 2541XXXXXXXX. */
  phone: string;
  /** The payment [Pay] or [Try again] last sent for this offer: a prompt went to the phone. */
  paymentId?: string;
  /** A [Pay] got no answer from the relay (a timeout, a proxy's error page): a prompt may have gone. */
  mayHaveSent?: boolean;
}

/** Kept per chat on disk (BOT_DATA_DIR/sessions). */
export interface SessionData {
  /** The checkout waiting for the customer's phone number. */
  draft?: Checkout;
  /** The latest offers, by the message id of their confirmation (whose buttons act on them). */
  offers?: Record<string, Offer>;
}

export interface LanguageFlavor {
  lang: Lang;
  t: Strings;
}

export type BotContext = Context & SessionFlavor<SessionData> & LanguageFlavor;
