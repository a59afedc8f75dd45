// Parses Mermaid diagrams with Mermaid's own parser (the `mermaid` package, pinned in package.json), offline.
// stdin: a JSON array of diagram texts; stdout: a JSON array, per diagram {"ok": true, "type": ...} or {"ok": false, "error": ...}.
// Mermaid expects a DOM; jsdom provides one (nothing is rendered, only parsed).
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

const texts = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const text of texts) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (e) {
    results.push({ ok: false, error: String((e && e.message) || e) });
  }
}
process.stdout.write(JSON.stringify(results));
