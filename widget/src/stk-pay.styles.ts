import { css } from 'lit';

export default css`
  :host {
    /* #007a3d: M-Pesa green darkened until white text on it passes WCAG AA (5.4:1). */
    --stk-pay-accent: #007a3d;
    --stk-pay-accent-text: #ffffff;
    --stk-pay-text: #1b1f1d;
    --stk-pay-muted: #535b57;
    --stk-pay-background: #ffffff;
    --stk-pay-border: #c9d1cc;
    --stk-pay-error: #b3261e;
    --stk-pay-radius: 0.5rem;
    --stk-pay-font: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --stk-pay-spacing: 1rem;

    display: block;
    max-width: 24rem;
    font-family: var(--stk-pay-font);
    color: var(--stk-pay-text);
  }

  :host([hidden]) {
    display: none;
  }

  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }

  .base {
    display: flex;
    flex-direction: column;
    gap: var(--stk-pay-spacing);
    min-width: 0;
    padding: var(--stk-pay-spacing);
    border: 1px solid var(--stk-pay-border);
    border-radius: var(--stk-pay-radius);
    background: var(--stk-pay-background);
  }

  .summary {
    display: flex;
    flex-direction: column;
    gap: 0.125rem;
  }

  .amount {
    font-size: 1.75rem;
    font-weight: 700;
    line-height: 1.2;
  }

  .reference,
  .description,
  .hint {
    color: var(--stk-pay-muted);
    font-size: 0.875rem;
    overflow-wrap: anywhere;
  }

  form,
  .field,
  .status {
    display: flex;
    flex-direction: column;
    gap: calc(var(--stk-pay-spacing) / 2);
  }

  form {
    gap: var(--stk-pay-spacing);
  }

  label {
    font-weight: 600;
  }

  input {
    width: 100%;
    min-height: 2.75rem;
    padding: 0.5rem 0.75rem;
    border: 1px solid var(--stk-pay-border);
    border-radius: calc(var(--stk-pay-radius) / 2);
    background: var(--stk-pay-background);
    color: inherit;
    font: inherit;
    font-size: 1.125rem;
    letter-spacing: 0.02em;
  }

  input[aria-invalid='true'] {
    border-color: var(--stk-pay-error);
  }

  input:focus-visible,
  button:focus-visible {
    outline: 3px solid var(--stk-pay-accent);
    outline-offset: 2px;
  }

  .error {
    margin: 0;
    color: var(--stk-pay-error);
    font-size: 0.875rem;
  }

  button {
    min-height: 2.75rem;
    padding: 0.5rem 1rem;
    border: none;
    border-radius: calc(var(--stk-pay-radius) / 2);
    background: var(--stk-pay-accent);
    color: var(--stk-pay-accent-text);
    font: inherit;
    font-weight: 700;
    cursor: pointer;
  }

  button:disabled {
    opacity: 0.6;
    cursor: progress;
  }

  .status p {
    margin: 0;
  }

  .headline {
    font-size: 1.125rem;
    font-weight: 700;
  }

  .status--succeeded .headline {
    color: var(--stk-pay-accent);
  }

  .status--failed .headline {
    color: var(--stk-pay-error);
  }

  .spinner {
    width: 1.5rem;
    height: 1.5rem;
    border: 3px solid var(--stk-pay-border);
    border-top-color: var(--stk-pay-accent);
    border-radius: 50%;
    animation: spin 0.9s linear infinite;
  }

  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }

  @media (prefers-reduced-motion: reduce) {
    .spinner {
      animation: none;
    }
  }
`;
