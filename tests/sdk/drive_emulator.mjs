// Drive a server that speaks the Interactive Form Sessions API with the official Wix JavaScript
// SDK (@wix/sdk + @wix/auto_sdk_forms_interactive-form-sessions, pinned in the Makefile's `sdk`
// step), written by Wix and by no one here. tests/test_sdk_wire.py runs it against the emulator.
//
// Usage: node drive_emulator.mjs MODULES_DIR BASE_URL FORM_ID
//
// The SDK always calls https://www.wixapis.com; the `fetch` given to createClient (the SDK's own
// extension point) sends each request to BASE_URL instead, changing nothing else: path, method,
// headers (the SDK's `Accept: */*` included) and body are the SDK's. Every request it sends is
// recorded. Prints one JSON object: the five methods' results, the errors the SDK raised, and the
// requests.
import { createRequire } from "node:module";
import path from "node:path";

const [modulesDir, baseUrl, formId] = process.argv.slice(2);
const require = createRequire(path.resolve(modulesDir, "node_modules", "index.js"));
const { createClient, ApiKeyStrategy } = require("@wix/sdk");
const sessions = require("@wix/auto_sdk_forms_interactive-form-sessions");

const requests = [];
async function toBaseUrl(url, init) {
  const target = new URL(url);
  const local = new URL(target.pathname + target.search, baseUrl);
  const headers = Object.fromEntries(new Headers(init?.headers ?? {}).entries());
  requests.push({ method: init?.method, url: target.href, path: target.pathname, headers });
  return fetch(local, init);
}

const client = createClient({
  auth: ApiKeyStrategy({ apiKey: "sdk-test-key", siteId: "sdk-test-site" }),
  modules: { sessions },
  fetch: toBaseUrl,
});
const api = client.sessions;

function thrown(error) {
  // What an SDK user can read from a failed call.
  return {
    name: error?.constructor?.name,
    message: String(error?.message ?? ""),
    status: error?.response?.status ?? null,
    details: error?.details ?? null,
    responseData: error?.response?.data ?? null,
    requestId: error?.requestId ?? null,
  };
}

async function attempt(call) {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error: thrown(error) };
  }
}

const out = { calls: {}, errors: {}, requests };
const created = await attempt(() =>
  api.createInteractiveFormSession(formId, {
    dryRun: true,
    currentValues: { source: "sdk" },
    clientTime: { timeZone: "Europe/Vilnius" },
  }),
);
out.calls.createInteractiveFormSession = created;
const sessionId = created.ok ? created.value._id : "";
out.calls.sendUserMessage = await attempt(() =>
  api.sendUserMessage(sessionId, { input: "Hi, I'm Jane Doe, jane@example.com" }),
);
out.calls.createInteractiveFormSessionStreamed = await attempt(() =>
  api.createInteractiveFormSessionStreamed(formId, { dryRun: true }),
);
out.calls.sendUserMessageStreamed = await attempt(() =>
  api.sendUserMessageStreamed(sessionId, { input: "my phone is +1 415 555 0100" }),
);
out.calls.generateFormSummary = await attempt(() =>
  api.generateFormSummary({
    formFields: [
      { id: "0f4b7a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b", inputOptions: { target: "email", inputType: "STRING", required: true, stringOptions: { validation: { format: "EMAIL" } } } },
    ],
  }),
);
// The SDK's error handling: an application error, a missing session, an invalid form.
out.errors.emptyRequest = await attempt(() => api.sendUserMessage(sessionId, {}));
out.errors.unknownSession = await attempt(() =>
  api.sendUserMessage("00000000-0000-0000-0000-000000000000", { input: "hello" }),
);
out.errors.invalidForm = await attempt(() => api.generateFormSummary({ formFields: [] }));
process.stdout.write(JSON.stringify(out));
