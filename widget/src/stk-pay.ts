/**
 * Registers <stk-pay>. The build's entry: a classic script (`stk-pay.js`) and an ES module
 * (`stk-pay.mjs`), either added with one tag.
 */
import { StkPay } from './stk-pay.component.js';

export { StkPay };
export type { StkPayErrorDetail, StkPayEventMap, StkPayEventName, StkPaySubmitDetail } from './events.js';

if (!customElements.get('stk-pay')) customElements.define('stk-pay', StkPay);

declare global {
  interface HTMLElementTagNameMap {
    'stk-pay': StkPay;
  }
}
