// Generate tests/sdk/sdk_contract.json from the official SDK's typings: the wire contract of the
// Interactive Form Sessions API as Wix's own generated package states it, independent of
// evalkit.protocol (which the contract test checks against it).
//
// Usage: node tests/sdk/generate_contract.mjs [SDK_DIR] > tests/sdk/sdk_contract.json
// (SDK_DIR defaults to .cache/sdk, where `make sdk` installs the pinned packages.)
//
// Read from @wix/auto_sdk_forms_interactive-form-sessions:
// - build/cjs/meta.d.ts: the REST types (REST names: `id`, not the SDK's `_id`), their fields,
//   which fields are required, and the enums;
// - build/cjs/index.js: each method's HTTP verb and path (its `protoPath`, mapped to the public
//   path by the package's own URL table for www.wixapis.com).
import fs from "node:fs";
import path from "node:path";

const sdkDir = path.resolve(process.argv[2] ?? ".cache/sdk");
const pkgDir = path.join(sdkDir, "node_modules", "@wix", "auto_sdk_forms_interactive-form-sessions");
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
const meta = fs.readFileSync(path.join(pkgDir, "build", "cjs", "meta.d.ts"), "utf8");
const code = fs.readFileSync(path.join(pkgDir, "build", "cjs", "index.js"), "utf8");

// ------------------------------------------------------------------ typings: interfaces, enums
const stripComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
const source = stripComments(meta);
const interfaces = {};
for (const m of source.matchAll(/^interface (\w+)(?: extends ([\w, ]+))? \{\n([\s\S]*?)^\}/gm)) {
  const fields = {};
  for (const f of m[3].matchAll(/^ {4}(\w+)(\??): (.+);$/gm)) {
    fields[f[1]] = { type: f[3].trim(), required: f[2] !== "?" };
  }
  interfaces[m[1]] = { extends: m[2] ? m[2].split(",").map((s) => s.trim()) : [], fields };
}
const enums = {};
for (const m of source.matchAll(/^declare enum (\w+) \{\n([\s\S]*?)^\}/gm)) {
  enums[m[1]] = [...m[2].matchAll(/^ {4}\w+ = "([^"]+)"/gm)].map((v) => v[1]);
}

// ------------------------------------------------------------------ methods: verbs and paths
const mapping = /"www\.wixapis\.com": \[([\s\S]*?)\]/.exec(code)[1];
const routes = [...mapping.matchAll(/srcPath: "([^"]+)",\s*destPath: "([^"]+)"/g)].map((r) => ({
  src: r[1],
  dest: r[2],
}));
const publicPath = (protoPath) => {
  const route = routes.find((r) => protoPath === r.dest || protoPath.startsWith(r.dest + "/"));
  return route.src + protoPath.slice(route.dest.length);
};
const methods = {};
for (const m of code.matchAll(
  /method: "(\w+)",\s*methodFqn: "[\w.]+\.(\w+)",[\s\S]*?protoPath: "([^"]+)"/g,
)) {
  methods[m[2]] = {
    verb: m[1],
    path: publicPath(m[3]),
    request: `${m[2]}Request`,
    response: `${m[2]}Response`,
  };
}

// ------------------------------------------------------------------ the types the methods use
// Free-form JSON (Struct, Value) and the Form Schemas `Form` (a request of its own) are not
// walked: any key may appear inside them.
const FREE = new Set(["Form"]);
const typeNames = (type) =>
  [...type.matchAll(/\b([A-Z]\w*)\b/g)]
    .map((t) => t[1].replace(/WithLiterals$/, ""))
    .filter((t) => t !== "Record" && t !== "Date");
const types = {};
const usedEnums = {};
const visit = (name) => {
  if (types[name] || FREE.has(name)) return;
  if (enums[name]) {
    usedEnums[name] = enums[name];
    return;
  }
  const spec = interfaces[name];
  if (!spec) return;
  const fields = {};
  for (const [field, { type, required }] of Object.entries(spec.fields)) {
    const refs = typeNames(type);
    const entry = { required };
    const ref = refs.find((r) => interfaces[r] || enums[r] || FREE.has(r));
    if (ref && enums[ref]) entry.enum = ref;
    else if (ref && FREE.has(ref)) entry.freeForm = true;
    else if (ref) entry.type = ref;
    else if (/any|Record</.test(type)) entry.freeForm = true;
    if (/\[\]$/.test(type)) entry.list = true;
    fields[field] = entry;
  }
  types[name] = { fields };
  for (const entry of Object.values(fields)) {
    if (entry.type) visit(entry.type);
    if (entry.enum) visit(entry.enum);
  }
};
for (const method of Object.values(methods)) {
  visit(method.request);
  visit(method.response);
}

// A chunk's `chunkType` names the one details field of its one-of that is set.
const oneOf = interfaces.InteractiveFormSessionResponseChunkOfOneOf.fields;
const camel = (value) =>
  value.toLowerCase().replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const chunkDetails = {};
for (const value of enums.ChunkType) {
  const field = `${camel(value)}Details`;
  if (!(field in oneOf)) throw new Error(`no one-of field ${field} for chunk type ${value}`);
  chunkDetails[value] = field;
}

const sorted = (object) =>
  Object.fromEntries(Object.keys(object).sort().map((k) => [k, object[k]]));
const contract = {
  generatedBy: "tests/sdk/generate_contract.mjs",
  source: { package: pkg.name, version: pkg.version, files: ["build/cjs/meta.d.ts", "build/cjs/index.js"] },
  methods: sorted(methods),
  types: sorted(types),
  enums: sorted(usedEnums),
  chunkDetails,
};
process.stdout.write(JSON.stringify(contract, null, 2) + "\n");
