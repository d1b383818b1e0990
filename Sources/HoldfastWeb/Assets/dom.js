// Builds elements from data. Text always goes in as text nodes (never as markup), so user strings cannot
// become HTML: this is the pages' whole escaping story.

/** `<tag>` with attributes and children (strings become text nodes, null/false are skipped). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** The element with `data-testid="id"`. */
export function byTestID(id) {
  return document.querySelector(`[data-testid="${id}"]`);
}

/** Replaces the children of `element`. */
export function replaceChildren(element, children) {
  element.replaceChildren(...children);
}
