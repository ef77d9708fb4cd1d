// The least DOM react-dom/client needs to mount a tree in Node, so the React adapter's effects
// run (react-dom/server runs none): elements and text nodes, no events, no layout. The page's
// globals (window, location) exist only while a tree is mounted: the gates under test, and the
// wasm loader, must not take Node for a browser.
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { settle } from './helpers.mjs';

class FakeNode {
  constructor(ownerDocument, nodeType, nodeName) {
    this.ownerDocument = ownerDocument;
    this.nodeType = nodeType;
    this.nodeName = nodeName;
    this.childNodes = [];
    this.parentNode = null;
  }
  get firstChild() {
    return this.childNodes[0] ?? null;
  }
  get lastChild() {
    return this.childNodes.at(-1) ?? null;
  }
  get nextSibling() {
    const siblings = this.parentNode?.childNodes ?? [];
    return siblings[siblings.indexOf(this) + 1] ?? null;
  }
  appendChild(child) {
    return this.insertBefore(child, null);
  }
  insertBefore(child, before) {
    child.parentNode?.removeChild(child);
    this.childNodes.splice(before ? this.childNodes.indexOf(before) : this.childNodes.length, 0, child);
    child.parentNode = this;
    return child;
  }
  removeChild(child) {
    this.childNodes.splice(this.childNodes.indexOf(child), 1);
    child.parentNode = null;
    return child;
  }
  addEventListener() {}
  removeEventListener() {}
  get textContent() {
    return this.nodeType === 3 ? this.nodeValue : this.childNodes.map((child) => child.textContent).join('');
  }
  set textContent(text) {
    if (this.nodeType === 3) {
      this.nodeValue = text;
      return;
    }
    for (const child of [...this.childNodes]) this.removeChild(child);
    if (text) this.appendChild(this.ownerDocument.createTextNode(text));
  }
}

class FakeElement extends FakeNode {
  constructor(ownerDocument, tag) {
    super(ownerDocument, 1, tag.toUpperCase());
    this.tagName = this.nodeName;
    this.localName = tag;
    this.namespaceURI = 'http://www.w3.org/1999/xhtml';
    this.attributes = new Map();
    this.style = {};
  }
  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }
  removeAttribute(name) {
    this.attributes.delete(name);
  }
  getAttribute(name) {
    return this.attributes.get(name) ?? null;
  }
}

class FakeDocument extends FakeNode {
  constructor() {
    super(null, 9, '#document');
    // React reads window.event for an update's priority, and looks for the focused element through the view.
    this.defaultView = { document: this, event: undefined, HTMLIFrameElement: class {} };
  }
  createElement(tag) {
    return new FakeElement(this, tag);
  }
  createTextNode(text) {
    const node = new FakeNode(this, 3, '#text');
    node.nodeValue = String(text);
    return node;
  }
}

/**
 * Mounts `element` with react-dom/client; when it returns the effects have run and what they
 * started has settled (act() renders what was queued once its callback is done, so the
 * callback lets promises run first). Gives {text(), errors, render(element), update(fn),
 * unmount()}: `errors` are those an error boundary caught; update(fn) runs fn (a gate's
 * login, logout) and lets what follows render. `url` is the page's location meanwhile.
 */
export async function mount(element, { url = 'http://app.test/' } = {}) {
  const document = new FakeDocument();
  const page = new URL(url);
  Object.assign(globalThis, { window: document.defaultView, IS_REACT_ACT_ENVIRONMENT: true });
  globalThis.location = { href: page.href, origin: page.origin, pathname: page.pathname, search: page.search, hash: page.hash };
  const container = document.createElement('div');
  const errors = [];
  const root = createRoot(container, { onCaughtError: (error) => errors.push(error) });
  // A second round for what the first one's effects started (a sign-in that then rejects).
  const update = async (fn) => {
    await act(async () => {
      await fn();
      await settle();
    });
    await act(settle);
  };
  await update(() => root.render(element));
  return {
    text: () => container.textContent,
    errors,
    render: (next) => update(() => root.render(next)),
    update,
    async unmount() {
      await act(async () => root.unmount());
      for (const name of ['window', 'location', 'IS_REACT_ACT_ENVIRONMENT']) delete globalThis[name];
    },
  };
}
