/**
 * Registers <stk-pay>. The build's entry: one classic script a merchant adds with a tag.
 */
import { StkPay } from './stk-pay.component.js';

export { StkPay };
export type { StkPayErrorDetail, StkPayEventMap, StkPayEventName } from './events.js';

if (!customElements.get('stk-pay')) customElements.define('stk-pay', StkPay);

declare global {
  interface HTMLElementTagNameMap {
    'stk-pay': StkPay;
  }
}
