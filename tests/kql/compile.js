// Compile KQL queries against a table reference with Microsoft's own parser and binder (Kusto.Language, shipped
// for JavaScript as the npm package @kusto/language-service-next, pinned in package.json / package-lock.json).
//
// stdin:  one request per line: {"tables": {"<table>": {"<column>": "<kusto type>", ...}, ...}, "queries": ["<kql>", ...]}
// stdout: one line per request: a list per query of its diagnostics: {"severity", "code", "message", "start", "length"}
// (one process answers every request of a test module: loading the language service is what costs time).
//
// API (Kusto.Language.Bridge.d.ts of the package): TableSymbol.From("(Col:type, ...)").WithName(name) builds a
// table from a schema string; DatabaseSymbol.$ctor2(name, alternateName, members) a database of them;
// GlobalState.Default.WithDatabase(db) makes it the database queries run in; KustoCode.ParseAndAnalyze(text,
// globals) parses and binds a query, GetDiagnostics() lists its syntax and semantic errors (unknown table KS204,
// unknown column or function KS142, ...).
"use strict";
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");

const Symbols = Kusto.Language.Symbols;
const quote = (name) => "['" + name.replace(/'/g, "\\'") + "']";
const globalsFor = new Map(); // the tables' JSON -> the global state of a database holding them

function globalsOf(input) {
  const key = JSON.stringify(input.tables);
  if (!globalsFor.has(key)) {
    const tables = Object.entries(input.tables).map(([table, columns]) =>
      Symbols.TableSymbol.From("(" + Object.entries(columns).map(([c, t]) => quote(c) + ":" + t).join(", ") + ")").WithName(table));
    const database = new Symbols.DatabaseSymbol.$ctor2("LogAnalytics", null, tables);
    globalsFor.set(key, Kusto.Language.GlobalState.Default.WithDatabase(database));
  }
  return globalsFor.get(key);
}

function compile(input) {
  const globals = globalsOf(input);
  return input.queries.map((query) => {
    const diagnostics = Kusto.Language.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
    const found = [];
    for (let i = 0; i < diagnostics.Count; i++) {
      const d = diagnostics.getItem(i);
      found.push({ severity: String(d.Severity), code: d.Code, message: d.Message, start: d.Start, length: d.Length });
    }
    return found;
  });
}

require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim()) process.stdout.write(JSON.stringify(compile(JSON.parse(line))) + "\n");
});
