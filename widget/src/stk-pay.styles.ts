/** The component's stylesheet: plain CSS, adopted by each shadow root (reactive-element.ts). */
export default `
  :host {
    /* #007a3d: M-Pesa green darkened until white text on it, and it on white, pass WCAG AA (5.4:1). */
    --stk-pay-accent: #007a3d;
    --stk-pay-accent-text: #fff;
    --stk-pay-text: #1b1f1d;
    --stk-pay-muted: #535b57;
    --stk-pay-background: #fff;
    --stk-pay-border: #8a948f;
    --stk-pay-error: #b3261e;
    --stk-pay-radius: .5em;
    --stk-pay-font: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --stk-pay-spacing: 1em;

    display: block;
    max-width: 24em;
    /* The reader's own text size: a page's root size (Bootstrap 3's 10px) does not shrink it. */
    font-size: medium;
    /* A table cell's nowrap would push the card past a 320px screen. */
    white-space: normal;
    font-family: var(--stk-pay-font);
    color: var(--stk-pay-text);
  }

  @media (prefers-color-scheme: dark) {
    :host {
      --stk-pay-accent: #5ad48a;
      --stk-pay-accent-text: #062112;
      --stk-pay-text: #e9eeeb;
      --stk-pay-muted: #aeb8b2;
      --stk-pay-background: #1a1e1c;
      --stk-pay-border: #6b756f;
      --stk-pay-error: #ffb4ab;
    }
  }

  :host([hidden]) {
    display: none;
  }

  * {
    box-sizing: border-box;
    margin: 0;
  }

  .base {
    display: flex;
    flex-direction: column;
    padding: var(--stk-pay-spacing);
    border: 1px solid var(--stk-pay-border);
    border-radius: var(--stk-pay-radius);
    background: var(--stk-pay-background);
    line-height: 1.4;
    overflow-wrap: anywhere;
  }

  /* Margins, not gap: the live region stays in place (and takes no room) while it is empty. */
  .base > *+*,
  form > *+* {
    margin-top: var(--stk-pay-spacing);
  }

  .status > *+* {
    margin-top: calc(var(--stk-pay-spacing)/2);
  }

  .base > :empty {
    margin: 0;
  }

  .summary,
  .field {
    display: flex;
    flex-direction: column;
    gap: calc(var(--stk-pay-spacing)/4);
  }

  .amount {
    font-size: 1.75em;
    font-weight: 700;
    line-height: 1.2;
  }

  .muted {
    color: var(--stk-pay-muted);
    font-size: .875em;
  }

  label,
  .headline {
    font-weight: 700;
  }

  input,
  button {
    width: 100%;
    min-height: 2.75em;
    padding: .5em .75em;
    border-radius: calc(var(--stk-pay-radius)/2);
    font: inherit;
  }

  input {
    border: 1px solid var(--stk-pay-border);
    background: var(--stk-pay-background);
    color: inherit;
    font-size: 1.125em;
  }

  input::placeholder {
    color: var(--stk-pay-muted);
  }

  input[aria-invalid=true] {
    border-color: var(--stk-pay-error);
  }

  :focus-visible {
    outline: 3px solid var(--stk-pay-accent);
    outline-offset: 2px;
  }

  .headline:focus {
    outline: none;
  }

  .error {
    color: var(--stk-pay-error);
    font-size: .875em;
  }

  button {
    /* Invisible, but drawn in forced colours (Windows high contrast), where the fill is not. */
    border: 1px solid #0000;
    background: var(--stk-pay-accent);
    color: var(--stk-pay-accent-text);
    font-weight: 700;
    cursor: pointer;
  }

  button:disabled {
    opacity: .6;
    cursor: not-allowed;
  }

  [aria-disabled=true] {
    cursor: progress;
  }

  .headline {
    font-size: 1.125em;
  }

  .succeeded .headline {
    color: var(--stk-pay-accent);
  }

  .failed .headline,
  .misconfigured .headline,
  .ready .headline {
    color: var(--stk-pay-error);
  }

  /* A refused Pay: a plain sentence, not a heading. */
  .ready .headline {
    font: inherit;
  }

  .waiting::before,
  .confirming::before {
    content: '';
    display: block;
    width: 1.5em;
    height: 1.5em;
    margin-bottom: calc(var(--stk-pay-spacing)/2);
    border: 3px solid var(--stk-pay-border);
    border-top-color: var(--stk-pay-accent);
    border-radius: 50%;
    animation: spin .9s linear infinite;
  }

  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }

  @media (prefers-reduced-motion: reduce) {
    .status::before {
      animation: none;
    }
  }
`;
