// Compile KQL queries against a table reference with Microsoft's own parser and binder (Kusto.Language, shipped
// for JavaScript as the npm package @kusto/language-service-next, pinned in package.json / package-lock.json).
//
// stdin:  {"tables": {"<table>": {"<column>": "<kusto type>", ...}, ...}, "queries": ["<kql>", ...]}
// stdout: one list per query of its diagnostics: {"severity", "code", "message", "start", "length"}
//
// API (Kusto.Language.Bridge.d.ts of the package): TableSymbol.From("(Col:type, ...)").WithName(name) builds a
// table from a schema string; DatabaseSymbol.$ctor2(name, alternateName, members) a database of them;
// GlobalState.Default.WithDatabase(db) makes it the database queries run in; KustoCode.ParseAndAnalyze(text,
// globals) parses and binds a query, GetDiagnostics() lists its syntax and semantic errors (unknown table KS204,
// unknown column or function KS142, ...).
"use strict";
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");

const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const Symbols = Kusto.Language.Symbols;
const quote = (name) => "['" + name.replace(/'/g, "\\'") + "']";
const tables = Object.entries(input.tables).map(([table, columns]) =>
  Symbols.TableSymbol.From("(" + Object.entries(columns).map(([c, t]) => quote(c) + ":" + t).join(", ") + ")").WithName(table));
const database = new Symbols.DatabaseSymbol.$ctor2("LogAnalytics", null, tables);
const globals = Kusto.Language.GlobalState.Default.WithDatabase(database);

const results = input.queries.map((query) => {
  const diagnostics = Kusto.Language.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
  const found = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    found.push({ severity: String(d.Severity), code: d.Code, message: d.Message, start: d.Start, length: d.Length });
  }
  return found;
});
process.stdout.write(JSON.stringify(results));
