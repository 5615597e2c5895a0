// QR card scanning: the camera (decoded by the browser's own BarcodeDetector where it reads QR
// codes — Chrome on Android and ChromeOS —, else by the vendored ponyfill and its zxing wasm,
// fetched only then) and a USB/HID scanner (a keyboard that types the token and Enter into the
// focused input).
//
// Markup (no inline script: the CSP forbids it):
//   <div data-scanner data-dedupe-ms="4000">            optional root; gets data-camera="…"
//     <video data-scanner-video muted playsinline></video>
//     <form data-scan-form method="post" action="…">
//       <input name="code" data-scan-input autocomplete="off">
//     </form>
//   </div>
//   <script type="module" src="/static/js/scanner.js"></script>
//
// data-camera on the root: "starting" | "on" | "off" | "unavailable" (no camera, permission
// refused, or the camera was unplugged). The input always stays usable. data-decoder on the
// root, once the decoder is ready: "native" (the browser's) or "wasm" (the ponyfill's).
//
// Options, read from the root (or the form): data-dedupe-ms (default 4000): the same code seen
// again within that many ms of its last sighting is not submitted again; data-scan-interval-ms
// (default 100); data-scanner-keep-focus="false": do not pull the focus back to the input.
// data-scan-accept on the form: a regular expression a code must match to be sent (others are
// dropped without a word: the pairing screen ignores a worker's card).
// Any element (or ancestor) marked data-scanner-keep-focus="false" or data-keypad keeps the
// focus it was given.
//
// Events (on the form, bubbling): "scanner:decoded" {code, at: performance.now(), source:
// "camera"}, dispatched just before the form is submitted. Also "scanner:camera" {state}.

// Resolved against this module so they work under any URL prefix; never a CDN. Both names carry
// their version, so the server lets the browser cache them for good.
const PONYFILL_URL = new URL("../vendor/barcode-detector-3.2.2.ponyfill.min.js", import.meta.url).href;
const WASM_URL = new URL("../vendor/zxing_reader-3.1.3.wasm", import.meta.url).href;
const DEFAULT_DEDUPE_MS = 4000;
const DEFAULT_INTERVAL_MS = 100;
const REFOCUS_DELAY_MS = 300;
const RETRY_AFTER_UNPLUG_MS = 3000;
// Decoding a bigger frame than this only costs time: a card at the kiosk fills a good part of it.
const MAX_FRAME_SIDE = 960;

// ---- the decoder ----------------------------------------------------------------------------------

// The browser's own detector, if it has one that reads QR codes (getSupportedFormats answers
// what this device can really decode: desktop Chrome on Linux and Windows has none).
async function nativeDetector() {
  const Native = window.BarcodeDetector;
  if (typeof Native !== "function" || typeof Native.getSupportedFormats !== "function") return null;
  try {
    const formats = await Native.getSupportedFormats();
    return formats.includes("qr_code") ? { kind: "native", detector: new Native({ formats: ["qr_code"] }) } : null;
  } catch (err) {
    return null;
  }
}

// The ponyfill (44 kB) and its zxing wasm (1 MB, 357 kB as brotli), loaded only when needed.
async function wasmDetector() {
  const { BarcodeDetector, prepareZXingModule } = await import(PONYFILL_URL);
  prepareZXingModule({
    overrides: {
      locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM_URL : prefix + path),
    },
  });
  return { kind: "wasm", detector: new BarcodeDetector({ formats: ["qr_code"] }) };
}

let decoder = null;
/** The decoder, chosen and loaded once: {kind: "native" | "wasm", detector}. */
function loadDecoder() {
  if (!decoder) {
    decoder = nativeDetector().then((found) => found || wasmDetector());
    decoder.catch(() => { decoder = null; }); // a failed load is tried again on the next tick
  }
  return decoder;
}

/** Every bound scanner, keyed by its form. */
const scanners = new Map();

function intOption(scanner, name, fallback) {
  const raw = scanner.root.getAttribute(name) ?? scanner.form.getAttribute(name);
  const value = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

function keepsFocus(scanner) {
  const raw = scanner.root.getAttribute("data-scanner-keep-focus")
    ?? scanner.form.getAttribute("data-scanner-keep-focus");
  return raw !== "false";
}

function setCamera(scanner, state) {
  scanner.root.setAttribute("data-camera", state);
  scanner.form.dispatchEvent(new CustomEvent("scanner:camera", { bubbles: true, detail: { state } }));
}

function inputOf(scanner) {
  return scanner.form.querySelector("[data-scan-input]");
}

function createScanner(form) {
  const root = form.closest("[data-scanner]") || form;
  const video = root.querySelector("[data-scanner-video]")
    || (root === form ? document.querySelector("[data-scanner-video]") : null);
  return {
    form,
    root,
    video,
    stream: null,
    generation: 0, // bumped by stop(): a camera that opens after it is closed at once
    timer: 0,
    busy: false,
    submitting: false, // true while the camera submits, so onSubmit tells it from a USB scan
    lastCode: "",
    lastSeen: -Infinity,
    canvas: null,
    context: null,
  };
}

// ---- camera -------------------------------------------------------------------------------------

async function startCamera(scanner) {
  if (!scanner.video || scanner.stream) return;
  const media = navigator.mediaDevices;
  if (!media || typeof media.getUserMedia !== "function") {
    setCamera(scanner, "unavailable");
    return;
  }
  const generation = ++scanner.generation;
  setCamera(scanner, "starting");
  let stream;
  try {
    stream = await media.getUserMedia({
      audio: false,
      video: { facingMode: "environment", width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (err) {
    // No camera or permission refused: the USB scanner and the keyboard still work.
    if (generation === scanner.generation) setCamera(scanner, "unavailable");
    return;
  }
  if (generation !== scanner.generation || !scanner.video.isConnected) {
    stream.getTracks().forEach((track) => track.stop());
    return;
  }
  scanner.stream = stream;
  const video = scanner.video;
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  stream.getVideoTracks().forEach((track) => {
    track.addEventListener("ended", () => {
      if (scanner.stream !== stream) return;
      stopCamera(scanner);
      setCamera(scanner, "unavailable");
      // A USB camera pulled out and plugged back in comes back by itself.
      window.setTimeout(() => {
        if (scanners.get(scanner.form) === scanner && !scanner.stream) startCamera(scanner);
      }, RETRY_AFTER_UNPLUG_MS);
    });
  });
  try {
    await video.play();
  } catch (err) {
    // Autoplay of a muted stream is allowed; a failure here still leaves frames to read.
  }
  if (generation !== scanner.generation) return;
  setCamera(scanner, "on");
  schedule(scanner);
}

function stopCamera(scanner) {
  scanner.generation++;
  window.clearTimeout(scanner.timer);
  scanner.timer = 0;
  if (scanner.stream) {
    scanner.stream.getTracks().forEach((track) => track.stop());
    scanner.stream = null;
  }
  if (scanner.video) scanner.video.srcObject = null;
  if (scanner.root.getAttribute("data-camera") !== "unavailable") setCamera(scanner, "off");
}

// ---- decoding -----------------------------------------------------------------------------------

function schedule(scanner) {
  window.clearTimeout(scanner.timer);
  scanner.timer = window.setTimeout(() => tick(scanner), intOption(scanner, "data-scan-interval-ms", DEFAULT_INTERVAL_MS));
}

function grabFrame(scanner) {
  const video = scanner.video;
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (!width || !height) return null;
  const scale = Math.min(1, MAX_FRAME_SIDE / Math.max(width, height));
  const w = Math.round(width * scale);
  const h = Math.round(height * scale);
  if (!scanner.canvas || scanner.canvas.width !== w || scanner.canvas.height !== h) {
    scanner.canvas = typeof OffscreenCanvas === "function"
      ? new OffscreenCanvas(w, h)
      : Object.assign(document.createElement("canvas"), { width: w, height: h });
    scanner.context = scanner.canvas.getContext("2d", { willReadFrequently: true });
  }
  scanner.context.drawImage(video, 0, 0, w, h);
  return scanner.context.getImageData(0, 0, w, h);
}

async function tick(scanner) {
  if (!scanner.stream) return;
  const video = scanner.video;
  if (!scanner.busy && !document.hidden && video.readyState >= 2) {
    scanner.busy = true;
    try {
      const { detector } = await loadDecoder();
      const frame = grabFrame(scanner);
      const found = frame ? await detector.detect(frame) : [];
      const code = found.length ? String(found[0].rawValue || "").trim() : "";
      if (code && scanner.stream) seen(scanner, code, "camera");
    } catch (err) {
      // One bad frame (or a wasm that failed to load) must not stop the loop.
    } finally {
      scanner.busy = false;
    }
  }
  if (scanner.stream) schedule(scanner);
}

// data-scan-accept on the form: a pattern a code must match to be sent at all (the pairing
// screen takes pairing codes only; a worker's card shown to it is ignored, not refused).
function accepts(scanner, code) {
  const pattern = scanner.form.getAttribute("data-scan-accept");
  if (!pattern) return true;
  try {
    return new RegExp(pattern).test(code);
  } catch (err) {
    return true; // a broken pattern must not stop the scanner; the server still checks
  }
}

function seen(scanner, code, source) {
  const now = performance.now();
  const repeat = code === scanner.lastCode && now - scanner.lastSeen < intOption(scanner, "data-dedupe-ms", DEFAULT_DEDUPE_MS);
  scanner.lastCode = code;
  scanner.lastSeen = now;
  if (repeat || !accepts(scanner, code)) return;
  const input = inputOf(scanner);
  if (!input) return;
  input.value = code;
  scanner.form.dispatchEvent(new CustomEvent("scanner:decoded", {
    bubbles: true,
    detail: { code, at: now, source },
  }));
  scanner.submitting = true;
  try {
    if (typeof scanner.form.requestSubmit === "function") scanner.form.requestSubmit();
    else scanner.form.submit();
  } finally {
    scanner.submitting = false;
  }
}

// ---- keeping the input focused for the USB scanner ----------------------------------------------

function editable(el) {
  if (!el || el === document.body || el === document.documentElement) return false;
  if (el.isContentEditable) return true;
  return ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

function wantsItsFocus(el) {
  return Boolean(el && el.closest && el.closest('[data-keypad], [data-scanner-keep-focus="false"]'));
}

function refocus(scanner) {
  const input = inputOf(scanner);
  if (!input || !input.isConnected || input.disabled || !keepsFocus(scanner)) return;
  const active = document.activeElement;
  if (active === input) return;
  if ((editable(active) || wantsItsFocus(active)) && active.isConnected) return;
  if (document.querySelector("dialog[open]")) return;
  input.focus({ preventScroll: true });
}

function onFocusOut(evt) {
  const target = evt.target;
  if (!target || !target.matches || !target.matches("[data-scan-input]")) return;
  const scanner = scanners.get(target.form);
  if (!scanner) return;
  window.setTimeout(() => refocus(scanner), REFOCUS_DELAY_MS);
}

// Before htmx sees it (capture): what a USB scanner typed that the form does not accept.
function onSubmitCapture(evt) {
  const scanner = scanners.get(evt.target);
  const input = scanner && inputOf(scanner);
  if (!input || accepts(scanner, input.value)) return;
  evt.preventDefault();
  evt.stopImmediatePropagation();
  input.value = "";
}

function onSubmit(evt) {
  const scanner = scanners.get(evt.target);
  if (!scanner) return;
  const input = inputOf(scanner);
  if (!input) return;
  if (!scanner.submitting) {
    // Typed by the USB scanner (or by hand): the camera must not send the same card again.
    scanner.lastCode = input.value.trim();
    scanner.lastSeen = performance.now();
  }
  // Select the sent code so the next scan types over it instead of after it.
  window.setTimeout(() => {
    if (input.isConnected && document.activeElement === input) input.select();
  }, 0);
}

// ---- binding ------------------------------------------------------------------------------------

/**
 * Bind every scan form in the document (idempotent; call again after new markup arrives).
 * Scanners whose form left the document are stopped; new ones start their camera.
 */
export function bind() {
  for (const [form, scanner] of scanners) {
    if (!form.isConnected || (scanner.video && !scanner.video.isConnected)) {
      stopCamera(scanner);
      scanners.delete(form);
    }
  }
  document.querySelectorAll("form[data-scan-form]").forEach((form) => {
    if (scanners.has(form)) return;
    const scanner = createScanner(form);
    scanners.set(form, scanner);
    if (scanner.video) {
      // Chosen (and the wasm loaded, if needed) while the camera starts.
      loadDecoder().then(({ kind }) => scanner.root.setAttribute("data-decoder", kind), () => {});
      if (!document.hidden) startCamera(scanner);
    } else {
      setCamera(scanner, "unavailable");
    }
  });
  // A swap may have replaced the focused input.
  scanners.forEach((scanner) => refocus(scanner));
}

/** Start the camera of every bound scanner (after stop(), or when coming back to the page). */
export function start() {
  scanners.forEach((scanner) => startCamera(scanner));
}

/** Stop every camera and release it (e.g. before navigating away). */
export function stop() {
  scanners.forEach((scanner) => stopCamera(scanner));
}

/** Forget the codes seen lately: a card still before the camera is read (and sent) again. */
export function forget() {
  scanners.forEach((scanner) => {
    scanner.lastCode = "";
    scanner.lastSeen = -Infinity;
  });
}

/** The state of the first bound scanner's camera, for pages and tests. */
export function cameraState() {
  const first = scanners.values().next().value;
  return first ? first.root.getAttribute("data-camera") : null;
}

let listening = false;
function listen() {
  if (listening) return;
  listening = true;
  document.addEventListener("focusout", onFocusOut);
  document.addEventListener("submit", onSubmitCapture, true);
  document.addEventListener("submit", onSubmit);
  // htmx swaps markup in and out: bind what arrived, release what left.
  document.addEventListener("htmx:afterSettle", bind);
  // Leaving the page (or a bfcache restore) must release/reopen the camera.
  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", (evt) => { if (evt.persisted) start(); });
}

listen();
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bind, { once: true });
else bind();

window.KioskScanner = { bind, start, stop, forget, cameraState };
