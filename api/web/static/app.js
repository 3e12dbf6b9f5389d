// The page: files are staged (drop, paste, pick), "Recognise" submits one job per file, each job is
// followed by long-polling and shown in the job list; the selected job's result fills the right side.

import {
  ApiError, cancelJob, fetchBlob, limiter, setKeyPrompt, storedKey, storeKey, submitJob, watchJob,
} from "./client.js";
import { applyStatic, errorText, language, setLanguage, t } from "./i18n.js";
import { h, LOW_CONFIDENCE, renderPreview, renderResult } from "./result.js";

const $ = (selector) => document.querySelector(selector);
const ACTIVE = new Set(["uploading", "queued", "running"]);
const watchers = limiter(4);

const state = {
  staged: [],   // File objects waiting for "Recognise"
  jobs: [],     // {id, file, url, status, doc, error, started, ended, self, abort}
  selected: null,
};
let nextId = 1;

// ---------- staging files ----------

function stage(files) {
  const images = [...files].filter((file) => file && file.size !== undefined);
  if (!images.length) return;
  state.staged.push(...images);
  renderStaged();
}

function renderStaged() {
  const list = $("#staged");
  list.replaceChildren(...state.staged.map((file, i) => h("li", { class: "staged-item" },
    h("span", { class: "staged-name", title: file.name }, file.name),
    h("span", { class: "staged-size" }, formatBytes(file.size)),
    h("button", {
      type: "button", class: "icon-button", "aria-label": t("staged.remove"), title: t("staged.remove"),
      onclick: () => { state.staged.splice(i, 1); renderStaged(); },
    }, "×"))));
  const button = $("#recognise");
  const n = state.staged.length;
  button.disabled = n === 0;
  button.textContent = n > 1 ? t("recognise.count", { n }) : t("recognise");
}

function pastedName(file, i) {
  // Clipboard images all arrive as "image.png": give each its own name.
  if (file.name && file.name !== "image.png") return file;
  const stamp = new Date().toISOString().slice(11, 19).replaceAll(":", "");
  const ext = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
  return new File([file], `pasted-${stamp}${i ? `-${i + 1}` : ""}.${ext}`, { type: file.type });
}

// ---------- jobs ----------

async function recognise() {
  const enhance = document.querySelector("input[name=enhance]:checked")?.value || "auto";
  const files = state.staged.splice(0);
  renderStaged();
  const jobs = files.map((file) => ({
    id: nextId++, file, url: URL.createObjectURL(file), status: "uploading", doc: null, error: null,
    started: performance.now(), ended: null, self: null, abort: new AbortController(), enhance,
  }));
  state.jobs.unshift(...jobs); // newest batch first, in the order it was picked
  select(jobs[0], { reveal: true });
  // Submit in order (so the server's queue keeps the page's order), then follow each job.
  for (const job of jobs) {
    try {
      const accepted = await submitJob(job.file, enhance, job.abort.signal);
      job.self = accepted.links?.self || `/v1/jobs/${accepted.job_id}`;
      update(job, { job_id: accepted.job_id, status: accepted.status });
      follow(job);
    } catch (err) {
      fail(job, err);
    }
  }
}

function follow(job) {
  watchers(() => (ACTIVE.has(job.status)
    ? watchJob(job.self, (doc) => update(job, doc), job.abort.signal)
    : null))
    .catch((err) => fail(job, err));
}

function update(job, doc) {
  job.doc = { ...job.doc, ...doc };
  if (job.status !== "canceled") job.status = doc.status; // a cancel the page asked for stays canceled
  if (doc.error) job.error = { code: doc.error.code, status: null, message: doc.error.message };
  if (!ACTIVE.has(job.status) && job.ended === null) job.ended = performance.now();
  renderJobs();
  if (state.selected === job) renderSelected();
}

function fail(job, err) {
  if (job.abort.signal.aborted) return;
  job.status = "failed";
  job.error = err instanceof ApiError ? { code: err.code, status: err.status, message: err.message }
    : { code: "unknown", status: "?", message: String(err) };
  job.ended ??= performance.now();
  renderJobs();
  if (state.selected === job) renderSelected();
}

async function cancel(job) {
  job.abort.abort();
  job.status = "canceled";
  job.ended ??= performance.now();
  renderJobs();
  if (state.selected === job) renderSelected();
  if (job.self) await cancelJob(job.self).catch(() => {}); // already finished or gone: nothing to undo
}

function select(job, { reveal = false } = {}) {
  state.selected = job;
  renderJobs();
  renderSelected();
  // One column (phones): the result is below the job list, so bring it into view.
  if (reveal && window.matchMedia("(max-width: 820px)").matches) {
    $(".result-panel").scrollIntoView({ behavior: "smooth", block: "start" });
  }
}

/** The pages of a result: a document's `pages`, or the one page an image is. */
function pagesOf(result) {
  return result ? (result.pages ?? [result]) : [];
}

function lineCount(n) {
  return n === 1 ? t("jobs.line") : t("jobs.lines", { n });
}

function elapsed(job) {
  const seconds = ((job.ended ?? performance.now()) - job.started) / 1000;
  return t("result.elapsed", { s: seconds.toFixed(1) });
}

function statusBadge(status) {
  return h("span", { class: `badge badge-${status}`, dataset: { status } }, t(`status.${status}`));
}

function renderJobs() {
  const list = $("#jobs");
  $("#jobs-empty").hidden = state.jobs.length > 0;
  list.replaceChildren(...state.jobs.map((job) => {
    const pages = pagesOf(job.doc?.result);
    const lines = pages.reduce((n, page) => n + page.lines.length, 0);
    const progress = job.doc?.progress;
    const detail = job.error ? errorText(job.error.code, { status: job.error.status ?? "?" })
      : job.status === "succeeded" ? lineCount(lines)
        : progress ? t("jobs.progress", { done: progress.done, total: progress.total }) : "";
    const item = h("li", {
      class: `job${state.selected === job ? " is-selected" : ""}`, dataset: { status: job.status, id: job.id },
      tabindex: 0, "aria-current": state.selected === job ? "true" : null,
      onclick: () => select(job, { reveal: true }),
      onkeydown: (event) => { if (event.key === "Enter") select(job, { reveal: true }); },
    },
    h("img", { class: "job-thumb", src: job.url, alt: "" }),
    h("div", { class: "job-main" },
      h("div", { class: "job-name", title: job.file.name }, job.file.name),
      h("div", { class: "job-detail" }, detail)),
    h("div", { class: "job-side" },
      statusBadge(job.status),
      h("span", { class: "job-elapsed" }, elapsed(job))),
    ACTIVE.has(job.status) ? h("button", {
      type: "button", class: "icon-button job-cancel", "aria-label": t("jobs.cancel"), title: t("jobs.cancel"),
      onclick: (event) => { event.stopPropagation(); cancel(job); },
    }, "×") : null);
    // Not an image the browser can show (a TIFF, or no image at all): a plain page icon instead.
    const thumb = item.querySelector(".job-thumb");
    thumb.addEventListener("error", () => thumb.replaceWith(h("span", { class: "job-thumb job-thumb-none" })));
    return item;
  }));
}

// ---------- the selected job ----------

let shownKey = null; // which figure is drawn: "<job id>:preview" or "<job id>:result:<page>"

function renderSelected() {
  const job = state.selected;
  $("#result-empty").hidden = Boolean(job);
  $("#result-view").hidden = !job;
  if (!job) return;
  $("#result-name").textContent = job.file.name;
  $("#result-name").title = job.file.name;
  $("#result-status").replaceChildren(statusBadge(job.status));
  $("#result-elapsed").textContent = elapsed(job);

  const errorBox = $("#result-error");
  errorBox.hidden = !job.error;
  if (job.error) {
    const detail = job.error.message ? [h("span", { class: "error-detail" }, job.error.message)] : [];
    errorBox.replaceChildren(h("strong", {}, errorText(job.error.code, { status: job.error.status ?? "?" })),
      ...detail);
  }

  const result = job.doc?.result;
  const pages = pagesOf(result);
  const index = Math.min(job.page ?? 0, Math.max(0, pages.length - 1));
  const page = pages[index];
  $("#result-waiting").hidden = Boolean(result) || !ACTIVE.has(job.status);
  $("#lines-panel").hidden = !result;
  $("#text-panel").hidden = !result;
  $("#result-meta").textContent = page ? t("result.meta", {
    w: page.width, h: page.height, lines: lineCount(page.lines.length),
    ms: Math.round(page.timings_ms?.total ?? 0), mode: result.enhance ?? job.enhance,
  }) : "";
  renderPageNav(job, index, pages.length);
  // Redraw the figure only when it changes: a redraw would drop the hover and the pinned line.
  const key = `${job.id}:${result ? `result:${index}` : "preview"}`;
  if (key === shownKey) return;
  shownKey = key;
  if (result) {
    // An image is shown from the upload itself; a PDF's or TIFF's page (or an image the browser cannot
    // show) as the API renders it.
    const source = `${job.self}/pages/${index + 1}.png`;
    const load = () => fetchBlob(source).then((blob) => URL.createObjectURL(blob));
    renderResult($("#figure"), $("#lines"), { url: result.pages ? null : job.url, load, source }, page);
    $("#lines-count").textContent = String(page.lines.length);
    $("#full-text").value = result.text;
    const allLines = pages.reduce((n, p) => n + p.lines.length, 0);
    $("#full-text").rows = Math.min(14, Math.max(4, allLines + pages.length));
  } else {
    renderPreview($("#figure"), job.url);
  }
}

/** "Page i of n" with previous/next buttons, for a document of more than one page. */
function renderPageNav(job, index, count) {
  const nav = $("#page-nav");
  nav.hidden = count < 2;
  if (count < 2) return;
  const go = (to) => { job.page = to; renderSelected(); };
  nav.replaceChildren(
    h("button", {
      type: "button", class: "secondary page-prev", disabled: index === 0, "aria-label": t("pages.prev"),
      onclick: () => go(index - 1),
    }, "‹"),
    h("span", { class: "page-label tabular", "aria-live": "polite" },
      t("pages.label", { page: index + 1, total: count })),
    h("button", {
      type: "button", class: "secondary page-next", disabled: index >= count - 1, "aria-label": t("pages.next"),
      onclick: () => go(index + 1),
    }, "›"));
}

function tick() {
  if (!state.jobs.some((job) => ACTIVE.has(job.status))) return;
  for (const el of document.querySelectorAll(".job")) {
    const job = state.jobs.find((j) => String(j.id) === el.dataset.id);
    if (job && ACTIVE.has(job.status)) el.querySelector(".job-elapsed").textContent = elapsed(job);
  }
  const selected = state.selected;
  if (selected && ACTIVE.has(selected.status)) $("#result-elapsed").textContent = elapsed(selected);
}

// ---------- copy, download, toast ----------

async function copyText() {
  const text = $("#full-text").value;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Plain-HTTP deployments have no clipboard API: fall back to selecting the text area.
    const area = $("#full-text");
    area.focus();
    area.select();
    if (!document.execCommand?.("copy")) return toast(t("result.copyFailed"));
  }
  toast(t("result.copied"));
}

function downloadJson() {
  const job = state.selected;
  if (!job?.doc) return;
  const blob = new Blob([JSON.stringify(job.doc, null, 2)], { type: "application/json" });
  saveBlob(blob, `${baseName(job.file.name)}.ocr.json`);
}

/** The result as the API renders it (`result.txt`, `.hocr`, `.xml`: ALTO, `.pdf`: searchable), saved. */
async function downloadOutput(ext) {
  const job = state.selected;
  if (!job?.doc) return;
  try {
    saveBlob(await fetchBlob(`${job.self}/result.${ext}`), `${baseName(job.file.name)}.${ext}`);
  } catch (err) {
    toast(errorText(err.code, { status: err.status ?? "?" }));
  }
}

function saveBlob(blob, name) {
  const link = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

let toastTimer = null;
function toast(message) {
  const el = $("#toast");
  el.textContent = message;
  el.classList.add("is-shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("is-shown"), 2500);
}

function baseName(name) {
  return name.replace(/\.[^.]+$/, "") || "result";
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// ---------- API key ----------

function askForKey(rejectedBefore) {
  const dialog = $("#key-dialog");
  const input = $("#key-input");
  $("#key-error").hidden = !rejectedBefore;
  input.value = "";
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const key = dialog.returnValue === "save" ? input.value.trim() : "";
      renderKeyButton(key);
      resolve(key || null);
    }, { once: true });
    dialog.showModal();
    input.focus();
  });
}

function renderKeyButton(pendingKey = "") {
  $("#key-button").hidden = !(pendingKey || storedKey());
}

// ---------- wiring ----------

function wire() {
  const input = $("#file-input");
  input.addEventListener("change", () => { stage(input.files); input.value = ""; });

  const zone = $("#dropzone");
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
  // The whole window takes drops, so a near miss never navigates away to the image.
  let depth = 0;
  window.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add("is-over");
  });
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("is-over");
  });
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("is-over");
    stage(event.dataTransfer?.files ?? []);
  });
  window.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (!files.length) return;
    event.preventDefault();
    stage(files.map(pastedName));
  });

  $("#recognise").addEventListener("click", recognise);
  $("#copy").addEventListener("click", copyText);
  $("#download").addEventListener("click", downloadJson);
  for (const button of document.querySelectorAll("[data-output]")) {
    button.addEventListener("click", () => downloadOutput(button.dataset.output));
  }
  $("#lang-button").addEventListener("click", () => {
    setLanguage(language() === "zh" ? "en" : "zh");
    rerender();
  });
  $("#key-button").addEventListener("click", () => {
    storeKey("");
    renderKeyButton();
    toast(t("key.forgotten"));
  });
  // Enter in the key field means "use this key" (the form's first button is Cancel).
  $("#key-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); $("#key-dialog").close("save"); }
  });
  setKeyPrompt(askForKey);
  setInterval(tick, 100);
}

function rerender() {
  $("#low-legend").textContent = t("result.lowLegend", { pct: Math.round(LOW_CONFIDENCE * 100) });
  renderStaged();
  renderJobs();
  shownKey = null; // texts inside the result (titles, "no lines") are in the old language
  renderSelected();
}

applyStatic(document);
wire();
renderKeyButton();
rerender();
