import { describe, expect, it } from 'vitest';
import { isTerminal, transition } from './state-machine.js';

describe('payment state machine', () => {
  it('moves forward through the lifecycle', () => {
    expect(transition('pending', 'awaiting_customer')).toEqual({ kind: 'apply' });
    expect(transition('awaiting_customer', 'succeeded')).toEqual({ kind: 'apply' });
    expect(transition('awaiting_customer', 'failed')).toEqual({ kind: 'apply' });
    expect(transition('pending', 'failed')).toEqual({ kind: 'apply' });
  });

  it('treats the same status again as a no-op', () => {
    expect(transition('awaiting_customer', 'awaiting_customer')).toEqual({ kind: 'same' });
    expect(transition('succeeded', 'succeeded')).toEqual({ kind: 'same' });
  });

  it('never changes a terminal payment', () => {
    expect(transition('succeeded', 'failed').kind).toBe('ignore');
    expect(transition('failed', 'succeeded').kind).toBe('ignore');
    expect(transition('succeeded', 'awaiting_customer').kind).toBe('ignore');
    expect(isTerminal('succeeded')).toBe(true);
    expect(isTerminal('failed')).toBe(true);
    expect(isTerminal('pending')).toBe(false);
  });

  it('never goes back to pending', () => {
    expect(transition('awaiting_customer', 'pending').kind).toBe('ignore');
  });
});
