// Validate Kubernetes custom resources against their CRDs' OpenAPI schemas, offline.
//
// stdin: a JSON array of objects (Traefik traefik.io and cert-manager *.cert-manager.io resources).
// stdout: a JSON array, one entry per object in input order:
//   {"apiVersion", "kind", "name", "namespace", "errors": ["<path>: <message>", ...]}
// The schemas are the CRDs' own OpenAPI schemas, precompiled into validators by the pinned @kubernetes-models
// packages (package.json): @kubernetes-models/traefik 1.0.1 is generated from the CRDs of Traefik Helm chart 39.0.8
// (Traefik v3.6), @kubernetes-models/cert-manager 5.0.1 from cert-manager v1.20.2's cert-manager.crds.yaml (see
// "crd-generate" in their package.json files). Their 2.0.0 / 6.0.0 majors are generated from Go types instead (Traefik
// v3.7, cert-manager v1.20) and pull in all of kubernetes-models: not the CRDs, further from the pinned charts, larger.
//
// Those schemas do not forbid fields they do not declare, but the API server prunes such fields from a structural
// CRD (or, with strict field validation, rejects the object): a misspelt security setting would be silently
// dropped. So each object is also checked for unknown fields: it is validated through a Proxy that records which
// keys the schema's validator reads; a key of an object whose schema declares properties (the validator reads at
// least one key) that the validator never read is reported as "unknown field". Objects whose keys the validator
// enumerates (maps such as labels) or whose schema declares no properties (free-form) are not checked for them.
//
// Exit code: 0 when the results were written (whatever they say), 2 on bad input.

import { readFileSync } from "node:fs";

const PACKAGES = {
  "traefik.io": "@kubernetes-models/traefik",
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "acme.cert-manager.io": "@kubernetes-models/cert-manager",
};

async function modelFor(apiVersion, kind) {
  const [group, version] = String(apiVersion).split("/");
  const pkg = PACKAGES[group];
  if (!pkg || !/^v[0-9a-z]+$/.test(version ?? "") || !/^[A-Z][A-Za-z0-9]*$/.test(String(kind))) return null;
  let mod;
  try {
    mod = await import(`${pkg}/${group}/${version}/${kind}`);
  } catch {
    return null;
  }
  const model = mod[kind];
  return model && model.apiVersion === apiVersion && model.kind === kind ? model : null;
}

// Wrap `value` so that reads of its keys (and of its children's) are recorded in `records`.
function tracked(value, path, records) {
  if (value === null || typeof value !== "object") return value;
  const rec = { path, value, read: new Set(), enumerated: false };
  records.push(rec);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver);
      if (typeof key !== "string") return child;
      rec.read.add(key);
      if (child === null || typeof child !== "object" || !Object.hasOwn(target, key)) return child;
      if (!children.has(key)) children.set(key, tracked(child, `${path}/${key}`, records));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === "string") rec.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      rec.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function unknownFields(records) {
  const problems = [];
  for (const rec of records) {
    if (Array.isArray(rec.value) || rec.enumerated || rec.read.size === 0) continue;
    for (const key of Object.keys(rec.value)) {
      if (!rec.read.has(key)) problems.push(`${rec.path}/${key}: unknown field (not in the CRD schema)`);
    }
  }
  return problems;
}

async function check(obj) {
  const meta = (obj && typeof obj === "object" && obj.metadata) || {};
  const result = { apiVersion: obj?.apiVersion ?? null, kind: obj?.kind ?? null, name: meta.name ?? null,
                   namespace: meta.namespace ?? null, errors: [] };
  const model = await modelFor(obj?.apiVersion, obj?.kind);
  if (model === null) {
    result.errors.push(`no CRD schema for ${obj?.apiVersion} ${obj?.kind} (groups with schemas: ${Object.keys(PACKAGES).join(", ")})`);
    return result;
  }
  const records = [];
  try {
    model.prototype.validate.call(tracked(obj, "", records));
  } catch (err) {
    if (!Array.isArray(err?.errors)) throw err;
    for (const e of err.errors) {
      const params = e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : "";
      result.errors.push(`${e.instancePath || "/"}: ${e.message}${params}`);
    }
  }
  result.errors.push(...unknownFields(records));
  return result;
}

let objects;
try {
  objects = JSON.parse(readFileSync(0, "utf8"));
  if (!Array.isArray(objects)) throw new Error("expected a JSON array of objects");
} catch (err) {
  process.stderr.write(`validate.js: bad input: ${err.message}\n`);
  process.exit(2);
}
const results = [];
for (const obj of objects) results.push(await check(obj));
process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
