/**
 * The part of Lit's ReactiveElement (LitElement's base) that <stk-pay> uses, on lit-html's
 * `render()`: properties and their attributes declared in `static properties` (Number, Boolean,
 * string; Boolean reflection; none, for internal state), batched asynchronous updates with Lit's
 * names and order (`willUpdate`, `render`, `firstUpdated`, `updated`, `updateComplete`, `requestUpdate`),
 * properties set before the element was upgraded, and one stylesheet per component adopted by each
 * shadow root (a `<style>`, with `window.litNonce`, where a browser cannot adopt one).
 *
 * Why not LitElement itself: the whole widget must stay within 10 KB gzipped, and Lit's
 * ReactiveElement (controllers, decorators, JSON converters, custom `hasChanged`, hooks the widget
 * never uses) costs about 1.7 KB more than this. The templates are still Lit's.
 */
import { render } from 'lit/html.js';

export interface PropertyDeclaration {
  /** How an attribute is read: `Number(value)`, `value !== null`, or the string as is. */
  type?: NumberConstructor | BooleanConstructor;
  /** The attribute's name (default: the property's, lowercased), or `false` for none. */
  attribute?: string | false;
  /** Writes a Boolean property back to its attribute. */
  reflect?: boolean;
}

/** Each property changed since the last update, with its value before. */
export type PropertyValues = Map<PropertyKey, unknown>;

/** What Lit checks before adopting a stylesheet instead of adding a `<style>`. */
const adoptsStyleSheets = 'adoptedStyleSheets' in Document.prototype && 'replace' in CSSStyleSheet.prototype;
/** One stylesheet per component class, shared by its elements. */
const sheets = new WeakMap<object, CSSStyleSheet>();

export abstract class ReactiveElement extends HTMLElement {
  static properties: Record<string, PropertyDeclaration>;
  /** The component's CSS. */
  static styles: string;

  /** Read once by `customElements.define`: also defines an accessor for each property. */
  static get observedAttributes(): string[] {
    const attributes: string[] = [];
    for (const [name, declaration] of Object.entries(this.properties)) {
      Object.defineProperty(this.prototype, name, {
        get(this: ReactiveElement) {
          return this.#values.get(name);
        },
        set(this: ReactiveElement, value: unknown) {
          const old = this.#values.get(name);
          this.#values.set(name, value);
          this.requestUpdate(name, old);
        },
        // Read again (a subclass defined under another tag): defined again.
        configurable: true,
      });
      const attribute = attributeOf(name, declaration);
      if (attribute) attributes.push(attribute);
    }
    return attributes;
  }

  readonly renderRoot = this.attachShadow({ mode: 'open' });
  hasUpdated = false;
  #values = new Map<string, unknown>();
  #changed: PropertyValues = new Map();
  #pending = false;
  #enableUpdating!: (value?: unknown) => void;
  #updateComplete = new Promise<unknown>((resolve) => (this.#enableUpdating = resolve));
  /** Properties set on the element before it was upgraded, applied at the first update. */
  #early: [string, unknown][] = [];
  #reflecting = false;

  constructor() {
    super();
    const component = this.constructor as typeof ReactiveElement;
    for (const name of Object.keys(component.properties)) {
      if (Object.hasOwn(this, name)) {
        this.#early.push([name, this[name as keyof this]]);
        delete this[name as keyof this];
      }
    }
    if (adoptsStyleSheets) {
      let sheet = sheets.get(component);
      if (!sheet) sheets.set(component, (sheet = new CSSStyleSheet())), sheet.replaceSync(component.styles);
      this.renderRoot.adoptedStyleSheets = [sheet];
    } else {
      const style = document.createElement('style');
      const nonce = (globalThis as { litNonce?: string }).litNonce;
      if (nonce !== undefined) style.setAttribute('nonce', nonce);
      style.textContent = component.styles;
      this.renderRoot.append(style);
    }
    this.requestUpdate();
  }

  /** Resolves (`true` unless another update is pending) once the element has rendered. */
  get updateComplete(): Promise<boolean> {
    return this.#updateComplete as Promise<boolean>;
  }

  connectedCallback(): void {
    this.#enableUpdating();
    // Moved in the page: render again (timers stopped on disconnect start again in `updated`).
    this.requestUpdate();
  }

  attributeChangedCallback(attribute: string, _old: string | null, value: string | null): void {
    if (this.#reflecting) return;
    const { properties } = this.constructor as typeof ReactiveElement;
    for (const [name, declaration] of Object.entries(properties)) {
      if (attributeOf(name, declaration) !== attribute) continue;
      const { type } = declaration;
      (this as Record<string, unknown>)[name] = type === Boolean ? value !== null : type === Number && value !== null ? Number(value) : value;
    }
  }

  /** Schedules an update; with a property's name, only when it changed from `old`. */
  requestUpdate(name?: string, old?: unknown): void {
    if (name !== undefined) {
      if (Object.is((this as Record<string, unknown>)[name], old)) return;
      if (!this.#changed.has(name)) this.#changed.set(name, this.hasUpdated ? old : undefined);
    }
    if (!this.#pending) this.#updateComplete = this.#enqueueUpdate();
  }

  async #enqueueUpdate(): Promise<boolean> {
    this.#pending = true;
    try {
      await this.#updateComplete;
    } catch (error) {
      // The previous update threw: reported again, as Lit does, and this one goes ahead.
      void Promise.reject(error);
    }
    this.#update();
    return !this.#pending;
  }

  #update(): void {
    for (const [name, value] of this.#early.splice(0)) (this as Record<string, unknown>)[name] = value;
    const changed = this.#changed;
    const { properties } = this.constructor as typeof ReactiveElement;
    try {
      this.willUpdate(changed);
      for (const name of changed.keys()) {
        const declaration = properties[name as string];
        if (!declaration?.reflect) continue;
        this.#reflecting = true;
        this.toggleAttribute(attributeOf(name as string, declaration) as string, Boolean((this as Record<string, unknown>)[name as string]));
        this.#reflecting = false;
      }
      render(this.render(), this.renderRoot, { host: this });
    } finally {
      this.#changed = new Map();
      this.#pending = false;
    }
    if (!this.hasUpdated) {
      this.hasUpdated = true;
      this.firstUpdated(changed);
    }
    this.updated(changed);
  }

  protected willUpdate(_changed: PropertyValues): void {}

  protected firstUpdated(_changed: PropertyValues): void {}

  protected updated(_changed: PropertyValues): void {}

  protected abstract render(): unknown;
}

function attributeOf(name: string, { attribute }: PropertyDeclaration): string | false {
  return attribute ?? name.toLowerCase();
}
