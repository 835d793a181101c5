/** `/start` without a link, `/help`, and a pointer to them for anything the bot does not expect. */
import { Composer } from 'grammy';
import type { BotContext } from '../context.js';

export const help = new Composer<BotContext>();

help.command('start', (ctx) => ctx.reply(`${ctx.t.welcome(ctx.me.first_name)}\n\n${ctx.t.help}`));

help.command('help', (ctx) => ctx.reply(ctx.t.help));

help.on('message', (ctx) => ctx.reply(ctx.t.nothingToDo));
