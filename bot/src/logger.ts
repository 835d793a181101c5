/** One line per event on stderr (warnings, errors) or stdout (info); `LOG_LEVEL` as for the relay. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const RANK = { error: 0, warn: 1, info: 2 } as const;

function line(message: string, fields: Record<string, unknown> | undefined): string {
  const extra = Object.entries(fields ?? {}).map(([key, value]) => {
    const shown = value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value);
    return ` ${key}=${shown}`;
  });
  return `${new Date().toISOString()} stk-pay-bot: ${message}${extra.join('')}`;
}

/** `level`: the relay's LOG_LEVEL names; `silent` logs nothing. */
export function consoleLogger(level: string = 'info'): Logger {
  const limit = level === 'silent' ? -1 : level === 'fatal' || level === 'error' ? RANK.error : level === 'warn' ? RANK.warn : RANK.info;
  return {
    info: (message, fields) => void (limit >= RANK.info && console.log(line(message, fields))),
    warn: (message, fields) => void (limit >= RANK.warn && console.error(line(message, fields))),
    error: (message, fields) => void (limit >= RANK.error && console.error(line(message, fields))),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
