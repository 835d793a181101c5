#!/usr/bin/env node
/**
 * Prints the Telegram payment link for a checkout token:
 *   node bot/dist/link-cli.js <bot username> <token>
 * e.g. with `pnpm run token --merchant demo --amount 250 --reference INV-9` for the token.
 */
import { telegramLink } from './checkout-link.js';

const [username, token] = process.argv.slice(2);
if (!username || !token) {
  console.error('usage: stk-pay-bot-link <bot username> <checkout token>');
  process.exit(2);
}
const link = telegramLink(username, token);
if (link.ok) {
  console.log(link.value);
} else {
  console.error(`stk-pay-bot-link: no Telegram link for this token: ${link.reason}.`);
  console.error(`Customers can paste it to the bot instead: /pay ${token}`);
  process.exit(1);
}
