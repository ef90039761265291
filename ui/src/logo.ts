// QuantDesk's mark: a rising line over a grid, drawn as SVG (no image files, nothing remote).
import { h } from "./dom";

export function logo(): HTMLElement {
  const wrap = h("div", { class: "logo-wrap", "aria-hidden": "true" });
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 96 96");
  svg.setAttribute("class", "logo");
  const add = (tag: string, attrs: Record<string, string>) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  };
  add("rect", { width: "96", height: "96", rx: "22", class: "logo-tile" });
  add("path", { class: "logo-grid", d: "M16 30H80M16 46H80M16 62H80M16 78H80" });
  add("path", { class: "logo-fill", d: "M18 68 L31 57 L41 62 L54 44 L65 50 L78 27 V80 H18 Z" });
  add("polyline", { class: "logo-line", points: "18,68 31,57 41,62 54,44 65,50 78,27" });
  add("circle", { class: "logo-dot", cx: "78", cy: "27", r: "5" });
  wrap.append(svg);
  return wrap;
}
