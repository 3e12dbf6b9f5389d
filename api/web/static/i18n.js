// The page's words in English and Chinese. Static text is marked in index.html with data-i18n
// (textContent), data-i18n-title, data-i18n-placeholder and data-i18n-label (aria-label).

const STRINGS = {
  en: {
    "lang.switch": "中文",
    "lang.switchLabel": "切换到中文",
    tagline: "Chinese and English text from real-life images",
    "drop.title": "Drop images here",
    "drop.hint": "or click to choose files, or paste with Ctrl+V",
    "drop.release": "Release to add",
    "staged.remove": "Remove",
    "mode.legend": "Enhancement",
    "mode.auto": "chooses per image",
    "mode.seed": "grayscale, contrast, binarise",
    "mode.off": "the image as it is",
    recognise: "Recognise",
    "recognise.count": "Recognise {n} images",
    "jobs.title": "Jobs",
    "jobs.empty": "Nothing recognised yet.",
    "jobs.cancel": "Cancel",
    "jobs.lines": "{n} lines",
    "jobs.line": "1 line",
    "jobs.progress": "page {done} of {total} done",
    "pages.label": "Page {page} of {total}",
    "pages.prev": "Previous page",
    "pages.next": "Next page",
    "status.uploading": "uploading",
    "status.queued": "queued",
    "status.running": "running",
    "status.succeeded": "done",
    "status.failed": "failed",
    "status.canceled": "canceled",
    "result.emptyTitle": "Results appear here",
    "result.emptyHint": "Add an image and press Recognise. Each line found is boxed on the picture; "
      + "hover a line or a box to link them.",
    "result.waiting": "Waiting for the result…",
    "result.noLines": "No text was found in this image.",
    "result.noPreview": "No picture of this page can be shown (its upload is no longer stored); the boxes are drawn on a blank page of the same size.",
    "result.lines": "Lines",
    "result.lowLegend": "below {pct}% confidence",
    "result.lowTitle": "Low confidence: check this line",
    "result.fullText": "Full text",
    "result.copy": "Copy",
    "result.copied": "Copied to the clipboard",
    "result.copyFailed": "Could not copy; select the text and copy it by hand",
    "result.download": "Download JSON",
    "result.downloads": "Download as",
    "result.txtTitle": "Plain text",
    "result.hocrTitle": "hOCR (HTML with every line's and word's box)",
    "result.altoTitle": "ALTO XML v4",
    "result.pdfTitle": "Searchable PDF: the pages with their text, to select, search and copy",
    "result.meta": "{w} × {h} px · {lines} · OCR {ms} ms · enhance {mode}",
    "result.elapsed": "{s} s",
    "key.button": "API key",
    "key.title": "This server needs an API key",
    "key.body": "Paste the key you were given. It is kept in this browser and sent with every request.",
    "key.retry": "That key was not accepted. Check it and try again.",
    "key.placeholder": "API key",
    "key.save": "Use this key",
    "key.forget": "Forget the stored key",
    "key.cancel": "Cancel",
    "key.forgotten": "The stored API key was removed",
    errors: {
      missing_file: "No image was sent.",
      empty_file: "The file is empty.",
      too_many_files: "Send one image per job.",
      invalid_option: "An option was not accepted.",
      not_found: "This job no longer exists on the server (it expired or was deleted).",
      payload_too_large: "The file is too large for this server.",
      unsupported_image: "This file is not an image the service can read. Use JPG, PNG, BMP, TIFF, WebP, GIF or PDF.",
      image_too_large: "The image has too many pixels. Make it smaller and try again.",
      undecodable_image: "The image is damaged or incomplete and cannot be read.",
      queue_full: "The service is busy. Wait a few seconds and try again.",
      service_unavailable: "The service is temporarily unavailable. Try again in a moment.",
      unauthorized: "An API key is needed and none was accepted.",
      timeout: "Recognition took too long and was stopped.",
      worker_lost: "The recognition worker stopped while reading this image.",
      upload_expired: "The image waited too long for a free worker and expired. Send it again.",
      network_error: "Cannot reach the server. Check the connection and try again.",
      internal_error: "The server failed on this image. The error was logged.",
      model_error: "The recognition model is not available on the server.",
      unknown: "Something went wrong (HTTP {status}).",
    },
  },
  zh: {
    "lang.switch": "English",
    "lang.switchLabel": "Switch to English",
    tagline: "中英文文字识别，专治真实场景里的图片",
    "drop.title": "把图片拖到这里",
    "drop.hint": "或点击选择文件，或按 Ctrl+V 粘贴",
    "drop.release": "松开即可添加",
    "staged.remove": "移除",
    "mode.legend": "图像增强",
    "mode.auto": "按图片自动选择",
    "mode.seed": "灰度、增强对比、二值化",
    "mode.off": "不做处理",
    recognise: "开始识别",
    "recognise.count": "识别 {n} 张图片",
    "jobs.title": "任务",
    "jobs.empty": "还没有识别任务。",
    "jobs.cancel": "取消",
    "jobs.lines": "{n} 行",
    "jobs.line": "1 行",
    "jobs.progress": "已完成 {done}/{total} 页",
    "pages.label": "第 {page} 页，共 {total} 页",
    "pages.prev": "上一页",
    "pages.next": "下一页",
    "status.uploading": "上传中",
    "status.queued": "排队中",
    "status.running": "识别中",
    "status.succeeded": "完成",
    "status.failed": "失败",
    "status.canceled": "已取消",
    "result.emptyTitle": "识别结果会显示在这里",
    "result.emptyHint": "添加图片并点击“开始识别”。每一行文字都会在图片上框出；将鼠标移到某一行或某个框上即可对应查看。",
    "result.waiting": "正在等待识别结果…",
    "result.noLines": "这张图片里没有找到文字。",
    "result.noPreview": "无法显示这一页的图像（上传的文件已不再保存）；文字框画在同样大小的空白页上。",
    "result.lines": "文字行",
    "result.lowLegend": "置信度低于 {pct}%",
    "result.lowTitle": "置信度较低，请核对",
    "result.fullText": "全文",
    "result.copy": "复制",
    "result.copied": "已复制到剪贴板",
    "result.copyFailed": "无法复制，请手动选择文字后复制",
    "result.download": "下载 JSON",
    "result.downloads": "下载为",
    "result.txtTitle": "纯文本",
    "result.hocrTitle": "hOCR（含每行、每个词位置的 HTML）",
    "result.altoTitle": "ALTO XML v4",
    "result.pdfTitle": "双层 PDF：页面加文字层，可选中、搜索、复制",
    "result.meta": "{w} × {h} 像素 · {lines} · 识别 {ms} 毫秒 · 增强 {mode}",
    "result.elapsed": "{s} 秒",
    "key.button": "API 密钥",
    "key.title": "此服务需要 API 密钥",
    "key.body": "请粘贴您获得的密钥。密钥保存在本浏览器中，并随每个请求发送。",
    "key.retry": "密钥未被接受，请检查后重试。",
    "key.placeholder": "API 密钥",
    "key.save": "使用此密钥",
    "key.forget": "删除已保存的密钥",
    "key.cancel": "取消",
    "key.forgotten": "已删除保存的 API 密钥",
    errors: {
      missing_file: "没有收到图片。",
      empty_file: "文件是空的。",
      too_many_files: "每个任务只能发送一张图片。",
      invalid_option: "有一个选项无效。",
      not_found: "服务器上已没有这个任务（已过期或被删除）。",
      payload_too_large: "文件太大，超过了服务器的限制。",
      unsupported_image: "这个文件不是可识别的图片格式。请使用 JPG、PNG、BMP、TIFF、WebP、GIF 或 PDF。",
      image_too_large: "图片像素太多。请缩小后重试。",
      undecodable_image: "图片已损坏或不完整，无法读取。",
      queue_full: "服务繁忙，请稍等几秒后重试。",
      service_unavailable: "服务暂时不可用，请稍后重试。",
      unauthorized: "需要 API 密钥，但没有可用的密钥。",
      timeout: "识别时间过长，已停止。",
      worker_lost: "识别进程在处理这张图片时中断了。",
      upload_expired: "图片等待空闲识别进程的时间过长，已过期。请重新发送。",
      network_error: "无法连接服务器。请检查网络后重试。",
      internal_error: "服务器处理这张图片时出错，错误已记录。",
      model_error: "服务器上的识别模型不可用。",
      unknown: "出了点问题（HTTP {status}）。",
    },
  },
};

const LANG_KEY = "ocrq.lang";
let lang = pickLanguage();

function pickLanguage() {
  const stored = safeStorage(() => localStorage.getItem(LANG_KEY));
  if (stored && stored in STRINGS) return stored;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

function safeStorage(fn) {
  try { return fn(); } catch { return null; } // storage can be disabled (private modes, policies)
}

function fill(template, vars = {}) {
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function language() {
  return lang;
}

export function setLanguage(next) {
  lang = next in STRINGS ? next : "en";
  safeStorage(() => localStorage.setItem(LANG_KEY, lang));
  applyStatic(document);
}

export function t(key, vars) {
  return fill(STRINGS[lang][key] ?? STRINGS.en[key] ?? key, vars);
}

/** A sentence for an error code from the API, a job or the page itself. */
export function errorText(code, vars = {}) {
  const errors = STRINGS[lang].errors;
  return fill(errors[code] ?? errors.unknown, { status: "?", ...vars });
}

export function applyStatic(root) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
