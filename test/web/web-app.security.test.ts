// The browser app as the server serves it: index.html at the app's paths under the pages'
// strict CSP, with no inline script or style the CSP would have to allow (an injected
// <script> or style attribute must do nothing), its hashed assets cached, and the API's
// paths untouched: an unknown /v1 path is still a JSON problem, never the app's page.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { API_CSP } from '../../src/core/http/security-headers.ts';
import { WEB_APP_CSP } from '../../src/web/routes.ts';
import { builtWebApp, startTestApp, type TestApp } from '../helpers/app.ts';

/** The page's policy as a map of directive → sources. */
function directives(csp: string): Map<string, string[]> {
  return new Map(csp.split(';').map((part) => {
    const [name = '', ...sources] = part.trim().split(/\s+/);
    return [name, sources];
  }));
}

describe('the web app served by the server', () => {
  let test: TestApp;
  let dist: string;

  before(async () => {
    const webApp = await builtWebApp();
    dist = webApp.dist;
    test = await startTestApp({ webApp });
  });
  after(() => test.close());

  it('serves index.html at each of the app paths under the strict page CSP', async () => {
    const index = await readFile(join(dist, 'index.html'), 'utf8');
    for (const url of ['/', '/login', '/register', '/verify-email', '/forgot-password', '/reset-password', '/cancel-deletion', '/goodbye', '/account', '/account/sessions', '/admin', '/admin/users/42']) {
      const response = await test.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.match(String(response.headers['content-type']), /^text\/html/, url);
      assert.equal(response.body, index, url);
      assert.equal(response.headers['content-security-policy'], WEB_APP_CSP, url);
      assert.equal(response.headers['cache-control'], 'no-cache', url);
      assert.equal(response.headers['x-frame-options'], 'DENY', url);
    }
  });

  it('the page CSP allows no inline or evaluated code and requires Trusted Types', () => {
    const policy = directives(WEB_APP_CSP);
    assert.deepEqual(policy.get('script-src'), ["'self'"]);
    assert.deepEqual(policy.get('style-src'), ["'self'"]);
    assert.deepEqual(policy.get('default-src'), ["'self'"]);
    assert.deepEqual(policy.get('object-src'), ["'none'"]);
    assert.deepEqual(policy.get('base-uri'), ["'none'"]);
    assert.deepEqual(policy.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(policy.get('require-trusted-types-for'), ["'script'"]);
    assert.doesNotMatch(WEB_APP_CSP, /unsafe-inline|unsafe-eval|unsafe-hashes|https?:|\*/);
  });

  it('the built index.html has no inline script, inline style or event handler', async () => {
    const html = (await test.app.inject({ method: 'GET', url: '/login' })).body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length >= 1, 'the page loads its script');
    for (const [, attributes = '', body = ''] of scripts) {
      assert.equal(body.trim(), '', 'an inline script');
      assert.match(attributes, /\bsrc="\/assets\/[\w.-]+\.js"/, 'a script from elsewhere than /assets');
    }
    assert.doesNotMatch(html, /<style\b/i, 'an inline <style>');
    assert.doesNotMatch(html, /\sstyle=/i, 'a style attribute');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'an inline event handler');
    assert.doesNotMatch(html, /https?:\/\//i, 'a third-party or absolute URL');
  });

  it('serves the hashed assets as files, cached for good, and nothing else under /assets', async () => {
    const html = (await test.app.inject({ method: 'GET', url: '/' })).body;
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    assert.ok(assets.some((asset) => asset.endsWith('.js')) && assets.some((asset) => asset.endsWith('.css')), assets.join(', '));
    for (const asset of assets) {
      const response = await test.app.inject({ method: 'GET', url: asset });
      assert.equal(response.statusCode, 200, asset);
      assert.match(String(response.headers['content-type']), asset.endsWith('.js') ? /javascript/ : /text\/css/, asset);
      assert.match(String(response.headers['cache-control']), /immutable/, asset);
      assert.equal(response.headers['x-content-type-options'], 'nosniff', asset);
    }
    for (const url of ['/assets/missing-abc.js', '/assets/..%2Findex.html', '/assets/%2e%2e/.source-hash', '/assets/.source-hash', '/assets/']) {
      const response = await test.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json<{ code: string }>().code, 'not_found', url);
    }
  });

  it('leaves the API alone: an unknown /v1 path is a JSON 404 under the API CSP, never the page', async () => {
    for (const url of ['/v1/unknown', '/v1/login', '/login/extra', '/unknown']) {
      const response = await test.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/, url);
      assert.equal(response.json<{ code: string }>().code, 'not_found', url);
      assert.deepEqual(directives(String(response.headers['content-security-policy'])), directives(API_CSP), url);
    }
    const health = await test.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
    assert.equal((await test.app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200);
    // A page path with another method is a 405, as for any route.
    assert.equal((await test.app.inject({ method: 'POST', url: '/login', payload: {} })).statusCode, 405);
  });
});
