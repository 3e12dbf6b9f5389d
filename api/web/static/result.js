// One job's result: the picture with every line's box drawn over it (an SVG whose viewBox is the
// image's pixel size, so boxes scale with the picture), the list of lines, the full text.
// Hovering or clicking a line highlights its box, and the other way round. When the result has words,
// each word has a box of its own, and hovering one shows its text and confidence under the picture.

import { t } from "./i18n.js";

export const LOW_CONFIDENCE = 0.8;
const SVG_NS = "http://www.w3.org/2000/svg";

/** A DOM element: h("li", {class: "x", dataset: {i: 1}, onclick: fn}, child, "text", ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

export function percent(confidence) {
  return `${(confidence * 100).toFixed(1)}%`;
}

/**
 * Draw `result` ({width, height, lines: [{text, confidence, box, words?}]}: an image's result or one page
 * of a document's) over a picture inside `figure`, and list its lines in `list`. `picture` is
 * {url, load, source}: the image's URL (the upload's blob: URL), or `load()` resolving to one (the page
 * image the API renders, fetched with the API key; tried too when `url` fails), `source` the API URL it
 * comes from; null: a blank page. Returns nothing; the two stay linked by index.
 */
export function renderResult(figure, list, picture, result) {
  const { boxes, words } = drawFigure(figure, picture, result);
  const items = result.lines.map((line, i) => lineItem(line, i));
  list.replaceChildren(...items);
  if (!items.length) list.append(h("li", { class: "lines-empty" }, t("result.noLines")));

  let pinned = -1;
  const mark = (i, cls, on) => {
    boxes[i]?.classList.toggle(cls, on);
    items[i]?.classList.toggle(cls, on);
  };
  const hover = (i, on) => mark(i, "is-hover", on);
  const pin = (i, from) => {
    if (pinned >= 0) mark(pinned, "is-selected", false);
    pinned = pinned === i ? -1 : i;
    if (pinned < 0) return;
    mark(pinned, "is-selected", true);
    const target = from === "box" ? items[i] : boxes[i];
    target?.scrollIntoView?.({ block: "nearest", behavior: "smooth" });
  };
  const link = (el, i, from) => {
    el.addEventListener("mouseenter", () => hover(i, true));
    el.addEventListener("mouseleave", () => hover(i, false));
    el.addEventListener("focus", () => hover(i, true));
    el.addEventListener("blur", () => hover(i, false));
    el.addEventListener("click", () => pin(i, from));
    el.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); pin(i, from); }
    });
  };
  boxes.forEach((box, i) => link(box, i, "box"));
  items.forEach((item, i) => link(item, i, "list"));
  words.forEach((word) => link(word, Number(word.dataset.line), "box"));
}

/** The picture alone, while the job is queued or running (nothing if the browser cannot show it). */
export function renderPreview(figure, imageUrl) {
  const img = h("img", { class: "preview", alt: "", src: imageUrl, draggable: "false" });
  img.addEventListener("error", () => figure.replaceChildren());
  figure.replaceChildren(h("div", { class: "stage is-pending" }, img));
}

function lineItem(line, i) {
  const low = line.confidence < LOW_CONFIDENCE;
  return h("li", {
    class: low ? "line is-low" : "line", tabindex: 0, dataset: { index: i },
    title: low ? t("result.lowTitle") : null,
  },
  h("span", { class: "line-no" }, String(i + 1)),
  h("span", { class: "line-text" }, line.text),
  h("span", { class: "line-conf" },
    h("span", { class: "conf-bar", "aria-hidden": "true" }, confidenceFill(line.confidence)),
    h("span", { class: "conf-value" }, percent(line.confidence))));
}

function confidenceFill(confidence) {
  const fill = h("span", { class: "conf-fill" });
  fill.style.width = `${Math.max(0, Math.min(1, confidence)) * 100}%`;
  return fill;
}

function drawFigure(figure, picture, result) {
  const { url = null, load = null, source = null } = picture ?? {};
  const { width, height } = result;
  const stage = h("div", { class: "stage" });
  // As wide as the column, but never taller than most of the screen; the ratio is the image's.
  stage.style.width = `min(100%, ${((72 * width) / height).toFixed(2)}vh)`;
  stage.style.aspectRatio = `${width} / ${height}`;
  const note = h("p", { class: "figure-note", hidden: true }, t("result.noPreview"));
  const caption = h("p", { class: "hover-caption muted", "aria-live": "polite" }, "\u00a0");
  // A PDF's or TIFF's pages come from the API (/v1/jobs/<id>/pages/<n>.png); only when no page image
  // can be had (the upload is gone) are the boxes drawn on a blank page of the same size.
  const noPreview = () => {
    img?.remove();
    stage.classList.add("no-preview");
    note.hidden = false;
  };
  const img = url || load
    ? h("img", { class: "preview", alt: "", width, height, draggable: "false", "data-source": source })
    : null;
  let loading = false;
  const fallBack = () => {
    if (!load || loading) return noPreview();
    loading = true;
    load().then((loaded) => { img.src = loaded; }, noPreview);
  };
  img?.addEventListener("error", fallBack);
  if (url) img.src = url;
  else if (img) fallBack();
  const overlay = svg("svg", {
    class: "overlay", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "group",
  });
  const boxes = result.lines.map((line, i) => {
    const polygon = svg("polygon", {
      class: line.confidence < LOW_CONFIDENCE ? "box is-low" : "box",
      points: line.box.map(([x, y]) => `${x},${y}`).join(" "),
      tabindex: 0, "data-index": i, "aria-label": `${i + 1}: ${line.text}`,
    });
    const title = svg("title");
    title.textContent = `${i + 1}. ${line.text} (${percent(line.confidence)})`;
    polygon.append(title);
    return polygon;
  });
  const show = (text, confidence) => { caption.textContent = `${text} · ${percent(confidence)}`; };
  boxes.forEach((box, i) => box.addEventListener("mouseenter", () => show(result.lines[i].text,
    result.lines[i].confidence)));
  const words = result.lines.flatMap((line, i) => (line.words ?? []).map((word) => {
    const polygon = svg("polygon", {
      class: word.confidence < LOW_CONFIDENCE ? "word is-low" : "word",
      points: word.box.map(([x, y]) => `${x},${y}`).join(" "), "data-line": i,
    });
    const title = svg("title");
    title.textContent = `${word.text} (${percent(word.confidence)})`;
    polygon.append(title);
    polygon.addEventListener("mouseenter", () => show(word.text, word.confidence));
    return polygon;
  }));
  overlay.append(...boxes, ...words);
  stage.append(...(img ? [img] : []), overlay);
  figure.replaceChildren(stage, caption, note);
  if (!img) noPreview();
  return { boxes, words };
}
